"""The agent loop: query the model, execute its tool calls, feed back the results, repeat.

It never prints and never asks the UI directly: it emits events through the session and receives
approvals through an awaitable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent.approval import Approver
from agent.catalog import Effort
from agent.compaction import compacted, plan_compaction, summary_request
from agent.context.source import ContextSource
from agent.errors import DuetError
from agent.events import (
    AnswerTruncated,
    AssistantMessageEvent,
    Compacted,
    MessageDelta,
    Notice,
    StepRouted,
    StreamReset,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    UsageEstimate,
)
from agent.history import with_valid_calls
from agent.instructions.system import SystemPrompt
from agent.instructions.toolset import tool_schemas
from agent.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    UserMessage,
)
from agent.modelcall import ModelCaller
from agent.outcome import Outcome
from agent.providers.base import ModelClient, ModelResult
from agent.providers.errors import AuthError, ProviderError, ProviderUnavailable
from agent.router import Route, Router
from agent.session import Session
from agent.spend.budget import estimate_call_usd, estimate_prompt_tokens
from agent.spend.usage import TokenUsage
from agent.tokens import count_tokens
from agent.toolrun import ToolRunner
from agent.window import can_answer, fits, output_limit
from agent.wiretext import escaped_bytes
from prompts import render
from tools.registry import ToolBox

ESTIMATE_EVERY_S = 0.25
CHARS_PER_OUTPUT_TOKEN = 4
SUMMARY_CHARS_PER_TOKEN = 3  # the older turns given to the summariser fill at most half its window
MAX_CONTINUATIONS = 1  # a cut answer is continued once; cut again, the run stops with a clear outcome


@dataclass
class Limits:
    max_turns: int
    max_cost: Decimal | None = None


@dataclass(frozen=True)
class StepOutcome:
    outcome: Outcome | None
    message: str = ""


class Agent:
    """Runs a session's conversation until the model stops calling tools or a limit is hit."""

    def __init__(self, session: Session, clients: Callable[[str], ModelClient], toolbox: ToolBox,
                 approver: Approver, limits: Limits, system_prompt: SystemPrompt, router: Router | None = None,
                 context: ContextSource | None = None) -> None:
        self.session = session
        self.router = router or Router(session.config)
        session.tool_context.vision = self.look
        self.tools = ToolRunner(session, toolbox, approver)
        self.limits = limits
        self._system_prompt = system_prompt
        self._systems: dict[str, SystemMessage] = {}
        self._tool_tokens: dict[str, int] = {}  # the tool schemas' tokens, per tokenizer and compactness
        self._system_tokens: dict[str, int] = {}  # the system message's tokens: the repository's own count
        self._without_context: set[str] = set()  # models whose window cannot hold the repository as well
        self.context = context
        self.calls = ModelCaller(session, clients)
        self._prices = self.calls.prices
        self.run_turns = 0
        self.last_error = ""
        self._continuations = 0  # "continue" requests after truncated answers, since the last whole one

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """When calls start (their price depends on it); tests set it."""
        return self.calls.clock

    @clock.setter
    def clock(self, clock: Callable[[], dt.datetime]) -> None:
        self.calls.clock = clock

    @property
    def toolbox(self) -> ToolBox:
        return self.tools.toolbox

    @toolbox.setter
    def toolbox(self, toolbox: ToolBox) -> None:
        self.tools.toolbox = toolbox

    @property
    def refused(self) -> list[str]:
        """Tools of the calls the approval mode refused (not the dangerous-command list), in order."""
        return self.tools.refused

    async def run(self, task: str | None = None, images: tuple[ImagePart, ...] = ()) -> Outcome:
        """Add `task` (if any) and loop until done or stopped; returns how it ended."""
        if task:
            if self.context:
                self.context.add_hint(task)
            self.session.add_user(task, images)
        try:
            while True:
                step = await self.step()
                if step.outcome is not None:
                    self.last_error = step.message
                    return step.outcome
        except BaseException:
            self.session.close_pending_calls()
            raise
        finally:
            # How this run left the files (undo keeps later edits): a git snapshot, off the event loop.
            await asyncio.to_thread(self.session.checkpoint.record_end)

    async def step(self) -> StepOutcome:
        """One model call and its tool calls. An outcome means the loop stops."""
        session = self.session
        if self.run_turns >= self.limits.max_turns:
            return StepOutcome(Outcome.TURN_LIMIT, f"turn limit of {self.limits.max_turns} reached")
        await self.toolbox.ready()  # MCP servers' tools, once: the first call waits at most their startup time
        route = self._route()
        await self._context_ready(route.model)
        if self._near_window(route.model):
            await self.compact()
        refusal = self._preflight(route.model)
        if refusal:
            return StepOutcome(Outcome.NOT_DONE, refusal)
        if self.limits.max_cost is not None:
            spent = session.ledger.total_usd
            estimate = estimate_call_usd(route.model, [self.system_for(route.model), *session.messages],
                                         session.ledger, self._prices, at=self.clock())
            if spent + estimate > self.limits.max_cost:
                return StepOutcome(Outcome.BUDGET, f"budget ${self.limits.max_cost} reached: spent ${spent:.4f}, "
                                                   f"next call estimated at ${estimate:.4f}")
        self.run_turns += 1
        session.turns += 1
        turn = session.turns
        while True:
            session.emit(TurnStarted(turn=turn, model=route.model, reason=route.reason))
            try:
                result, started = await self._query(route.model, turn)
                break
            except ProviderError as exc:
                session.emit(TurnFailed(turn=turn, error=str(exc)))
                if isinstance(exc, AuthError):
                    return StepOutcome(Outcome.CONFIG_ERROR, f"{route.model}: {exc}")
                if not isinstance(exc, ProviderUnavailable):
                    return StepOutcome(Outcome.NOT_DONE, f"{route.model} refused the request: {exc}")
                self.router.mark_down(route.model)
                failed, route = route.model, self._route(announce=False)
                if route.model == failed or route.model in self.router.down:
                    return StepOutcome(Outcome.UNAVAILABLE, f"{failed} unavailable and nothing else can serve: {exc}")
                await self._context_ready(route.model)
                session.emit(StepRouted(kind="fallback", model=route.model,
                                        reason=f"{failed} stayed unavailable after retries ({exc})"))
        if result.truncated:
            return self._truncated(turn, route.model, result, started)
        self._continuations = 0
        # An empty tool name or a repeated call id is the model's error: fixed before it enters the history.
        message: AssistantMessage = with_valid_calls(result.message, self._call_ids())
        session.messages.append(message)
        session.emit(AssistantMessageEvent(turn=turn, message=message))
        self._record_usage(route.model, result.usage, result.sent_at or started)
        if result.recovered_text_calls:
            session.emit(Notice(level="warning", message="recovered tool calls the model wrote as text"))
        await self.tools.execute_all(message.tool_calls)
        session.emit(TurnCompleted(turn=turn))
        if not message.tool_calls:
            return StepOutcome(Outcome.DONE, message.content)
        return StepOutcome(None)

    def _call_ids(self) -> set[str]:
        return {c.id for m in self.session.messages if isinstance(m, AssistantMessage) for c in m.tool_calls}

    def _truncated(self, turn: int, model: str, result: ModelResult, started: dt.datetime) -> StepOutcome:
        """A cut answer is never "done": ask once to continue a cut text answer, otherwise stop clearly.

        Tool calls of a cut answer are dropped (their arguments may be incomplete), so the history stays valid.
        """
        session = self.session
        self._record_usage(model, result.usage, result.sent_at or started)
        message = result.message.model_copy(update={"tool_calls": ()})
        mid_answer = bool(message.content) and not result.message.tool_calls
        will_continue = mid_answer and self._continuations < MAX_CONTINUATIONS
        session.emit(AnswerTruncated(turn=turn, model=model, reason=result.truncated_reason,
                                     continued=will_continue, dropped_calls=len(result.message.tool_calls)))
        session.emit(Notice(level="warning", message=f"{model}'s answer was cut at its output limit"
                            + ("; asking it to continue" if will_continue else "")))
        if message.content:
            session.messages.append(message)
            session.emit(AssistantMessageEvent(turn=turn, message=message))
        session.emit(TurnCompleted(turn=turn))
        if will_continue:
            self._continuations += 1
            session.add_user(render("continue_truncated").strip())
            return StepOutcome(None)
        what = "while it was still answering" if mid_answer else (
            "in the middle of a tool call" if result.message.tool_calls else "before it wrote an answer")
        return StepOutcome(Outcome.NOT_DONE, f"{model}'s answer was cut {what} ({result.truncated_reason}); "
                                             "raise its max_output_tokens in config or simplify the task")

    def _near_window(self, model: str) -> bool:
        spec = self.session.config.models.get(model)
        if spec is None:
            return False
        return not fits(spec, self._estimate(model, [self.system_for(model), *self.session.messages]))

    def _estimate(self, model: str, messages: list[Message]) -> int:
        """The prompt's tokens for `model`: the tool schemas counted with its tokenizer (once), the rest estimated
        high. A small window needs the real figure: the schemas alone are a large share of 4K tokens."""
        spec = self.session.config.models.get(model)
        if spec is None:
            return estimate_prompt_tokens(messages)
        key = model  # each model has its own tools (list, order, freeform apply_patch, short descriptions)
        if key not in self._tool_tokens:
            schemas = json.dumps(self._schemas_for(model), ensure_ascii=False)
            self._tool_tokens[key] = count_tokens(schemas, spec.tokenizer)
        system = self._systems.get(model)
        if messages and system is not None and messages[0] is system and model in self._system_tokens:
            # The repository in the system message has its own count (a 900K-token pack is 4M characters:
            # the three-characters-per-token guess would call it 1.3M tokens and drop it from a 1M window).
            return self._tool_tokens[key] + self._system_tokens[model] + estimate_prompt_tokens(messages[1:], 0)
        return estimate_prompt_tokens(messages, self._tool_tokens[key])

    def _schemas_for(self, model: str) -> list[dict[str, Any]]:
        """The tool schemas `model` gets: its own list from its config entry (agent.instructions.toolset)."""
        config = self.session.config
        spec = config.models.get(model)
        return tool_schemas(self.toolbox, spec, config.api_of(model) if spec else "chat")

    def _preflight(self, model: str) -> str:
        """Why the next prompt cannot be sent to `model` at all (empty if it can)."""
        spec = self.session.config.models.get(model)
        if spec is None:
            return ""
        tokens = self._estimate(model, [self.system_for(model), *self.session.messages])
        if not can_answer(spec, tokens) and self.context and model not in self._without_context:
            # A small window: the task itself matters more than the repository map.
            self._without_context.add(model)
            self._systems.pop(model, None)
            self._system_tokens.pop(model, None)
            self.session.emit(Notice(level="warning", message=f"the repository context does not fit {model}'s "
                                     f"{spec.context_window:,}-token window; sending the conversation without it"))
            tokens = self._estimate(model, [self.system_for(model), *self.session.messages])
        if can_answer(spec, tokens):
            return ""
        return (f"the prompt (~{tokens:,} tokens) does not fit {model}'s {spec.context_window:,}-token window "
                "even after compaction; nothing was sent (use a model with a larger window, or start a new session)")

    async def compact(self) -> bool:
        """Summarise older turns with the cheap model, keeping the prefix and recent turns; False if too short."""
        session = self.session
        plan = plan_compaction(session.messages)
        if plan is None:
            return False
        route = self.router.summary_model()
        session.emit(StepRouted(kind="summary", model=route.model, reason=route.reason))
        spec = session.config.models.get(route.model)
        limit = spec.context_window // 2 * SUMMARY_CHARS_PER_TOKEN if spec else None
        started = self.clock()
        older = [*plan.before[-1:], *plan.older]  # in a task, the summariser reads the task too
        result = await self._complete(route.model, summary_request(older, limit), [], None, started)
        self._record_usage(route.model, result.usage, result.sent_at or started)
        before = len(session.messages)
        summary = session.redact(result.message.content)
        session.messages = compacted(summary, plan.recent, plan.before)
        session.emit(Compacted(model=route.model, messages_before=before, messages_after=len(session.messages),
                               kept=len(plan.recent), summary=summary, kept_before=len(plan.before),
                               folded_calls=plan.folded_calls))
        return True

    async def _context_ready(self, model: str) -> None:
        """Plan the repository context off the event loop: scanning a big repository must not freeze a UI."""
        if self.context is not None and model not in self._systems:
            await asyncio.to_thread(self.context.plan_for, model)

    def prompt_tokens(self, model: str) -> int:
        """Estimated prompt size for `model` now (without planning a context that is not ready yet)."""
        system = self._systems.get(model)
        return estimate_prompt_tokens([system, *self.session.messages] if system else self.session.messages)

    def system_for(self, model: str) -> SystemMessage:
        """The fixed first message for `model`: instructions, the repository (pack or map), the session's facts."""
        if model not in self._systems:
            # Instructions, AGENTS.md and facts redacted here; the repository context was redacted as it was rendered.
            repository = self.context.text_for(model) if self.context and model not in self._without_context else ""
            spec = self.session.config.models.get(model)
            redact = self.session.redact
            prompt = self._system_prompt.for_set(spec.prompt_set) if spec else self._system_prompt
            text = escaped_bytes(SystemPrompt(redact(prompt.stable), redact(prompt.session)).text(repository))
            same = next((m for m in self._systems.values() if m.content == text), None)
            self._systems[model] = same or SystemMessage(content=text)
            counted = self.context.plan_for(model).tokens if repository and self.context else 0
            self._system_tokens[model] = estimate_prompt_tokens([SystemMessage(content=text[:len(text) - len(
                repository)])], 0) + counted
        return self._systems[model]

    def _route(self, announce: bool = True) -> Route:
        previous = self.router.current
        system = self._systems.get(previous or "")
        prompt = [system, *self.session.messages] if system else self.session.messages
        route = self.router.main(estimate_prompt_tokens(prompt), self.session.ledger.total_usd,
                                 self.limits.max_cost)
        if announce and previous and route.model != previous:
            self.session.emit(StepRouted(kind="switch", model=route.model,
                                         reason=f"{previous} → {route.model}: {route.reason}"))
        return route

    async def look(self, image_url: str, question: str) -> str:
        """The vision sidecar: an image-capable model answers about the image; the answer is text."""
        route = self.router.vision()
        self.session.emit(StepRouted(kind="vision", model=route.model, reason=route.reason))
        messages: list[Message] = [SystemMessage(content=render("vision_system")),
                                   UserMessage(content=question, images=(ImagePart(data_url=image_url),))]
        started = self.clock()
        try:
            result = await self._complete(route.model, messages, [], None, started)
        except ProviderError as exc:
            return f"error: the image could not be examined ({route.model}: {exc})"
        except DuetError as exc:  # no key for any image-capable model
            return f"error: no image-capable model is available: {exc}"
        self._record_usage(route.model, result.usage, result.sent_at or started)
        return result.message.content or "(the vision model gave no answer)"

    async def _query(self, model: str, turn: int) -> tuple[ModelResult, dt.datetime]:
        """One model call (asked again once if the reply is empty); the result and when the call started."""
        session = self.session
        spec = session.config.model_spec(model)
        effort = spec.escalated_effort if self.router.escalated and spec.escalated_effort else None
        started = self.clock()
        pricing = self._prices.pricing_at(model, started)
        messages = [self.system_for(model), *session.messages]
        input_usd = estimate_call_usd(model, messages, session.ledger, self._prices, output_tokens=0, at=started)
        streamed = [0, 0.0]  # characters so far, time of the last estimate
        shown = [Decimal(0)]  # the call's estimate only ever goes up, even when a cut stream starts over

        def on_delta(kind: str, text: str) -> None:
            if kind == "reset":
                streamed[0] = 0
                session.emit(StreamReset(turn=turn))
                return
            session.emit(MessageDelta(turn=turn, kind=kind, text=text))  # type: ignore[arg-type]
            streamed[0] += len(text)
            now = time.monotonic()
            if pricing is not None and now - streamed[1] >= ESTIMATE_EVERY_S:
                streamed[1] = now
                out = int(streamed[0]) // CHARS_PER_OUTPUT_TOKEN
                call = input_usd + pricing.output * pricing.multiplier * out / 1_000_000
                shown[0] = max(shown[0], call)
                session.emit(UsageEstimate(model=model, output_tokens=out, call_usd=str(shown[0]),
                                           session_usd=str(session.ledger.total_usd + shown[0])))

        limit = output_limit(spec, self._estimate(model, messages))
        result = await self._complete(model, messages, self._schemas_for(model), on_delta, started, effort=effort,
                                      max_output_tokens=limit)
        if not result.message.content and not result.message.tool_calls and not result.truncated:
            # A known DeepSeek slip: an empty reply right after tool results. Ask once more.
            session.emit(Notice(level="warning", message=f"{model} sent an empty reply; asking again"))
            self._record_usage(model, result.usage, result.sent_at or started)
            started = self.clock()
            shown[0] = Decimal(0)
            result = await self._complete(model, messages, self._schemas_for(model), on_delta, started,
                                          effort=effort, max_output_tokens=limit)
        return result, started

    async def _complete(self, model: str, messages: Sequence[Message], tools: Sequence[dict[str, Any]],
                        on_delta: Callable[[str, str], None] | None, started: dt.datetime,
                        effort: Effort | None = None, max_output_tokens: int | None = None) -> ModelResult:
        return await self.calls.call(model, messages, tools, on_delta=on_delta, started=started, effort=effort,
                                     max_output_tokens=max_output_tokens, record=False)

    def _record_usage(self, model: str, usage: TokenUsage, started: dt.datetime) -> None:
        self.calls.record(model, usage, started)
