"""The agent loop, in mini-swe-agent's shape: `run()` repeats `step()`, and a step is `execute(query())`.

Guards (turn limit, window and compaction, pre-flight, budget) raise `Stop`; `run()` returns the `RunOutcome`.
The loop never prints and never asks the UI directly: it emits events through the session (schema 2: a turn per
user prompt, the model calls and items inside it) and receives approvals through an awaitable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from agent.approval import Approver
from agent.compactor import Compactor
from agent.context.source import ContextSource
from agent.errors import DuetError
from agent.events import (
    AnswerTruncated,
    AssistantMessageEvent,
    Item,
    ItemCompleted,
    ItemKind,
    Notice,
    TurnCompleted,
    TurnStarted,
)
from agent.fallback import Answer, FallbackCalls
from agent.history import call_ids, with_valid_calls
from agent.instructions.system import SystemPrompt
from agent.messages import AssistantMessage, ImagePart
from agent.modelcall import ModelCaller
from agent.outcome import Outcome
from agent.prompt_assembly import PromptAssembly
from agent.providers.base import ModelClient
from agent.router import Router
from agent.session import Session
from agent.spend.budget import estimate_call_usd
from agent.stop import Fatal, Limits, RunOutcome, Stop
from agent.toolrun import ToolRunner
from agent.vision import Vision
from prompts import render
from tools.registry import ToolBox

MAX_CONTINUATIONS = 1  # a cut answer is continued once; cut again, the run stops with a clear outcome


class Agent:
    """Runs a session's conversation until the model stops calling tools or a guard stops it."""

    def __init__(self, session: Session, clients: Callable[[str], ModelClient], toolbox: ToolBox,
                 approver: Approver, limits: Limits, system_prompt: SystemPrompt, router: Router | None = None,
                 context: ContextSource | None = None) -> None:
        self.session, self.limits, self.context = session, limits, context
        self.router = router or Router(session.config)
        self.calls = ModelCaller(session, clients)
        self.tools = ToolRunner(session, toolbox, approver)
        self.prompt = PromptAssembly(session, system_prompt, context, lambda: self.tools.toolbox)
        self.models = FallbackCalls(session, self.router, self.calls, self.prompt, limits.max_cost)
        self.compactor = Compactor(session, self.router, self.calls)
        self.vision = Vision(session, self.router, self.calls)
        session.tool_context = replace(session.tool_context, vision=self.vision.look)  # a new value, once
        self._answers = 0  # model answers the turn limit counts (in this run, or since the first: Limits)
        self._continuations = 0  # "continue" requests after truncated answers, since the last whole one

    async def run(self, task: str | None = None, images: tuple[ImagePart, ...] = ()) -> RunOutcome:
        """One turn: add `task` (if any) and step until a guard or the model's final answer stops it."""
        session = self.session
        session.turns += 1
        if self.limits.turns_per_prompt:
            self._answers = 0
        first, refused = self._answers, len(self.tools.refused)
        session.emit(TurnStarted(turn=session.turns, prompt=task or ""))
        if task:
            if self.context:
                self.context.add_hint(task)
            session.add_user(task, images)
        try:
            while True:
                await self.step()
        except Stop as stop:
            return self._outcome(stop, first, refused)
        except BaseException as exc:
            session.close_pending_calls()
            if not isinstance(exc, Exception) or isinstance(exc, DuetError):
                raise  # an interrupt, or an error the user fixes (a full disk, a missing key): one line up there
            session.emit(Notice(level="error", message=(fatal := Fatal.of(exc)).message))
            return self._outcome(fatal, first, refused)
        finally:
            session.emit(TurnCompleted(turn=session.turns))
            # How this run left the files (undo keeps later edits): a git snapshot, off the event loop.
            await asyncio.to_thread(session.checkpoint.record_end)

    def _outcome(self, stop: Stop, first: int, refused: int) -> RunOutcome:
        return RunOutcome(stop.outcome, stop.message, self._answers - first, tuple(self.tools.refused[refused:]))

    async def step(self) -> None:
        await self.execute(await self.query())  # Stop ends the run

    async def query(self) -> Answer:
        """The guards, then the model's next answer."""
        if self._answers >= self.limits.max_turns:
            raise Stop(Outcome.TURN_LIMIT, f"turn limit of {self.limits.max_turns} reached")
        await self.tools.toolbox.ready()  # MCP servers' tools, once: the first call waits at most their startup time
        route = self.models.route()
        await self.prompt.ready(route.model)
        if self.prompt.near_window(route.model):
            await self.compact()
        refusal = self.prompt.refusal(route.model)
        if refusal:
            raise Stop(Outcome.NOT_DONE, refusal)
        self._guard_budget(route.model)
        self._answers += 1
        return await self.models.answer(self.session.turns, route)

    async def execute(self, answer: Answer) -> None:
        """The answer into the history, its tool calls run and answered; Stop when it calls no tool."""
        session, result = self.session, answer.result
        if result.truncated:
            self.calls.record(answer.model, result.usage, result.sent_at or answer.started, role=answer.role,
                              reason=answer.reason)
            return self._truncated(answer)
        self._continuations = 0
        # An empty tool name or a repeated call id is the model's error: fixed before it enters the history.
        message: AssistantMessage = with_valid_calls(result.message, call_ids(self.session.messages))
        self._add_answer(message)
        self.calls.record(answer.model, result.usage, result.sent_at or answer.started, role=answer.role,
                              reason=answer.reason)
        if result.recovered_text_calls:
            session.emit(Notice(level="warning", message="recovered tool calls the model wrote as text"))
        await self.tools.execute_all(message.tool_calls)
        if not message.tool_calls:
            raise Stop(Outcome.DONE, message.content)

    def _guard_budget(self, model: str) -> None:
        if self.limits.max_cost is None:
            return
        spent = self.session.ledger.total_usd
        estimate = estimate_call_usd(model, self.prompt.messages_for(model), self.session.ledger, self.calls.prices,
                                     at=self.clock())
        if spent + estimate > self.limits.max_cost:
            raise Stop(Outcome.BUDGET, f"budget ${self.limits.max_cost} reached: spent ${spent:.4f}, "
                                       f"next call estimated at ${estimate:.4f}")

    def _add_answer(self, message: AssistantMessage) -> None:
        session, turn = self.session, self.session.turns
        session.messages.append(message)
        session.emit(AssistantMessageEvent(turn=turn, message=message))  # what a resume reads
        parts: tuple[tuple[ItemKind, str], ...] = (("reasoning", message.reasoning), ("agent_message", message.content))
        for kind, text in parts:
            if text:
                item = Item(id=f"call{session.model_calls}.{kind}", kind=kind, status="completed", text=text)
                session.emit(ItemCompleted(turn=turn, item=item))

    def _truncated(self, answer: Answer) -> None:
        """A cut answer is never "done": ask once to continue a cut text answer, otherwise stop clearly.
        Tool calls of a cut answer are dropped (their arguments may be incomplete), so the history stays valid."""
        session, result, model = self.session, answer.result, answer.model
        message = result.message.model_copy(update={"tool_calls": ()})
        mid_answer = bool(message.content) and not result.message.tool_calls
        will_continue = mid_answer and self._continuations < MAX_CONTINUATIONS
        session.emit(AnswerTruncated(turn=session.turns, model=model, reason=result.truncated_reason,
                                     continued=will_continue, dropped_calls=len(result.message.tool_calls)))
        session.emit(Notice(level="warning", message=f"{model}'s answer was cut at its output limit"
                            + ("; asking it to continue" if will_continue else "")))
        if message.content:
            self._add_answer(message)
        if will_continue:
            self._continuations += 1
            session.add_user(render("continue_truncated").strip())
            return
        what = "while it was still answering" if mid_answer else (
            "in the middle of a tool call" if result.message.tool_calls else "before it wrote an answer")
        raise Stop(Outcome.NOT_DONE, f"{model}'s answer was cut {what} ({result.truncated_reason}); "
                                     "raise its max_output_tokens in config or simplify the task")

    async def compact(self) -> bool:
        return await self.compactor.compact()  # False: too little to fold

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
