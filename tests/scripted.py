"""An in-process scripted model: a `ModelClient` that replays a list of answers (mini-swe-agent's
`DeterministicModel`), for tests that drive the real loop without HTTP.

It plays the fake server's `Turn`s (fixtures/fakeapi), so a test moves between the two without rewriting its
script, and it checks every request the way the fake server does: the conversation is put in Chat Completions
form by the providers' own `wire_messages` and run through the fake server's `check_request` (every tool call
answered, ids unique, DeepSeek reasoning echoed, no images to a text-only model). A request the real API would
refuse raises `BadRequest`, as a provider would; every problem is kept in `violations`.

What it does not do: HTTP, SSE, retries, keep-alives, text-markup tool calls. A `fault` here is the error a
provider raises once its retries are spent; tests of the wire and of retries stay on the fake server.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.catalog import Effort
from agent.config import Config
from agent.messages import AssistantMessage, Message, ToolCall
from agent.providers.base import DeltaSink, Finish, ModelClient, ModelResult, ToolSchema
from agent.providers.errors import AuthError, BadRequest, ProviderError, ProviderUnavailable, RateLimited, StreamCut
from agent.providers.wire import wire_messages
from agent.spend.usage import TokenUsage
from fixtures.fakeapi import Turn
from fixtures.fakeapi.models import FakeModel, model_table
from fixtures.fakeapi.validate import check_request

CHARS_PER_TOKEN = 4
EXHAUSTED = "(the scripted model has nothing more to say)"
UNSUPPORTED = ("keepalive", "as_text", "omit_usage", "cut_before_usage", "retry_after", "retry_after_ms")
"""Turn fields that only mean something on the wire: a test that needs them uses the fake server."""


def _fault(turn: Turn, model: str) -> ProviderError:
    """The error a provider raises for `turn.fault` once its retries are spent."""
    message = turn.error_message or f"scripted {turn.fault}"
    if turn.fault == "429":
        return RateLimited(message, model=model, retry_after=turn.retry_after)
    if turn.fault == "401":
        return AuthError(message, model=model, status=401)
    if turn.fault == "400":
        return BadRequest(message, model=model, status=400)
    if turn.fault == "cut":
        return StreamCut(message, model=model)
    return ProviderUnavailable(message, model=model, status=int(turn.fault or 500))


@dataclass(frozen=True)
class ScriptedRequest:
    """One request the loop made, as it made it."""

    model: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSchema, ...]
    effort: Effort | None
    max_output_tokens: int | None

    def text(self) -> str:
        """Everything the model was sent, as one string (for `in` checks)."""
        return json.dumps([m.model_dump() for m in self.messages] + [dict(t) for t in self.tools], ensure_ascii=False)


@dataclass
class Script:
    """Scripted answers shared by every model of a run (like one fake server for every provider): each request
    takes the next turn, whichever model asks. `clients(config)` is the factory the agent calls per model."""

    turns: list[Turn]
    forbidden: list[str] = field(default_factory=list)
    models: dict[str, FakeModel] = field(default_factory=dict)
    requests: list[ScriptedRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    served: int = 0
    _next_id: int = 0

    def __post_init__(self) -> None:
        for turn in self.turns:
            used = [name for name in UNSUPPORTED if getattr(turn, name)]
            if used:
                raise ValueError(f"the scripted model cannot play {used}: use the fake server (fixtures/fakeapi)")
        self._queue = list(self.turns)
        self.table = model_table(self.models)

    def clients(self, config: Config) -> Callable[[str], ModelClient]:
        """A client per model name, each speaking its provider's dialect as `config` says."""
        return lambda model: ScriptedModel(self, model, config)

    def next_turn(self) -> Turn | None:
        return self._queue.pop(0) if self._queue else None

    def call_id(self) -> str:
        self._next_id += 1
        return f"call_s{self._next_id:04d}"


class ScriptedModel:
    """One model's view of a `Script`: a `ModelClient` (agent/providers/base.py)."""

    def __init__(self, script: Script, model: str, config: Config) -> None:
        self.script = script
        self.model = model
        self._dialect = config.dialect_of(model)
        self._images = config.model_spec(model).images
        self._wire_model = config.model_spec(model).api_model or model
        self.closed = False

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSchema],
                       on_delta: DeltaSink | None = None, *, effort: Effort | None = None,
                       max_output_tokens: int | None = None) -> ModelResult:
        script = self.script
        request = ScriptedRequest(self.model, tuple(messages), tuple(tools), effort, max_output_tokens)
        script.requests.append(request)
        self._check(request)
        await asyncio.sleep(0)  # a real call yields to the event loop: cancellation lands here as it would there
        turn = script.next_turn()
        if turn is None:
            script.violations.append("request after the script ran out")
            turn = Turn(content=EXHAUSTED)
        if turn.model and turn.model != self.model:
            script.violations.append(f"turn scripted for {turn.model} was requested by {self.model}")
        text = request.text()
        script.violations += [f"expected {s!r} in the prompt" for s in turn.expect_in_prompt if s not in text]
        if turn.fault:
            raise _fault(turn, self.model)
        sink = on_delta or (lambda kind, piece: None)
        sent = time.monotonic()
        for kind, piece in (("reasoning", turn.reasoning), ("text", turn.content)):
            if piece:
                if turn.chunk_delay_s:
                    await asyncio.sleep(turn.chunk_delay_s)
                sink(kind, piece)
        script.served += 1
        calls = tuple(ToolCall(id=c.id or script.call_id(), name=c.name, arguments=c.arguments_text())
                      for c in turn.tool_calls)
        origin = self._dialect if turn.reasoning and self._dialect in ("deepseek", "openrouter") else ""
        message = AssistantMessage(content=turn.content, reasoning=turn.reasoning, model=self.model,
                                   tool_calls=calls, reasoning_origin=origin)
        finish: Finish = "length" if turn.truncated else "tool_calls" if calls else "stop"
        return ModelResult(message=message, usage=self._usage(turn, text, calls), finish_reason=finish, attempts=1,
                           truncated_reason="max_output_tokens" if turn.truncated else "", sent_monotonic=sent)

    def _check(self, request: ScriptedRequest) -> None:
        """The fake server's checks on the request this conversation would be on the wire."""
        body = {"model": self._wire_model, "messages": wire_messages(request.messages, self._dialect, self._images),
                "tools": [dict(t) for t in request.tools]}
        facts = self.script.table.get(self._wire_model, FakeModel(self._dialect))
        problems = check_request(body, self.script.forbidden, facts)
        self.script.violations += [message for _, message in problems]
        refused = [message for status, message in problems if status]
        if refused:
            raise BadRequest(refused[0], model=self.model, status=400)

    @staticmethod
    def _usage(turn: Turn, prompt: str, calls: tuple[ToolCall, ...]) -> TokenUsage:
        if turn.usage is not None:
            u = turn.usage
            return TokenUsage(input_tokens=u.prompt_tokens, cache_hit_tokens=u.cache_hit_tokens,
                              output_tokens=u.completion_tokens, reasoning_tokens=u.reasoning_tokens)
        answer = turn.content + turn.reasoning + "".join(c.name + c.arguments for c in calls)
        return TokenUsage(input_tokens=max(1, len(prompt) // CHARS_PER_TOKEN),
                          output_tokens=max(1, len(answer) // CHARS_PER_TOKEN),
                          reasoning_tokens=len(turn.reasoning) // CHARS_PER_TOKEN)

    async def close(self) -> None:
        self.closed = True
