"""The seam between the loop and the providers: what a model client is and what one call returns.

This module imports no SDK, so the loop and tests can depend on it freely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from agent.catalog import Effort
from agent.messages import AssistantMessage, Message
from agent.spend.usage import TokenUsage

DeltaSink = Callable[[str, str], None]
"""Called with ("text" | "reasoning", piece) while streaming, and ("reset", "") before a retry. Providers also send
(OPENED, "") to the CallRunner's sink when an answer starts; the runner keeps that to itself."""

ToolSchema = Mapping[str, object]
"""One tool in Chat Completions form ({"type": "function", "function": {...}}); providers convert it. A freeform tool
is already in the Responses API's form ({"type": "custom", "name", "description", "format"}) plus FREEFORM_ARGUMENT."""

FREEFORM_ARGUMENT = "x-duet-argument"
"""Key of a freeform tool schema (never sent) naming the one argument its text fills: the provider turns a
`custom_tool_call`'s input into `{argument: input}` arguments, so the tool box parses it like any other call."""

Finish = Literal["stop", "tool_calls", "length", "content_filter", "incomplete"]


OPENED = "open"
"""The kind a provider sends to the sink once the API has accepted a request and its answer starts: from then on
the attempt may be billed, whatever happens to it."""
RETRIED_NOTE = "cut or stalled after the provider started answering; retried"


@dataclass(frozen=True)
class BilledAttempt:
    """An attempt the provider may bill that gave no usable answer (a stream cut, stalled or malformed after it
    started): its usage estimated from what was sent and received, and when its request was sent."""

    usage: TokenUsage
    sent_monotonic: float


@dataclass(frozen=True)
class ModelResult:
    """One completed model call.

    `truncated` is True when the answer was cut by the output limit (Chat Completions
    `finish_reason: length`, Responses `status: incomplete`); `truncated_reason` says why.
    """

    message: AssistantMessage
    usage: TokenUsage
    finish_reason: Finish
    attempts: int
    recovered_text_calls: bool = False
    truncated_reason: str = ""
    sent_monotonic: float | None = None
    """time.monotonic() when the answering attempt's request was sent (after any retries and backoff)."""
    billed_attempts: tuple[BilledAttempt, ...] = ()
    """Earlier attempts of this call that were cut after the provider started: billed, and recorded as such."""
    sent_at: dt.datetime | None = None
    """The same moment on the loop's clock (the loop fills it in): what the call is priced by."""

    @property
    def truncated(self) -> bool:
        return bool(self.truncated_reason)


class ModelClient(Protocol):
    """What the loop needs from a provider."""

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSchema],
                       on_delta: DeltaSink | None = None, *, effort: Effort | None = None,
                       max_output_tokens: int | None = None) -> ModelResult:
        """One model turn; raises only agent.providers.errors types."""
        ...

    async def close(self) -> None:
        """Release the connection pool."""
        ...
