"""One call to one model, with everything the ledger needs: usage priced by when each attempt was sent, the
attempts a provider may bill before a failure, and an estimate for a call cancelled mid-way. Every model call
of a session (driver, plan, review, vision, summary, classification) goes through here, tagged with its role."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent.catalog import Effort
from agent.events import UsageEvent
from agent.messages import Message
from agent.providers.base import BilledAttempt, ModelClient, ModelResult
from agent.providers.errors import ProviderError
from agent.roles import Role
from agent.session import Session
from agent.spend.estimate import CANCELLED, estimate_usage, prompt_text
from agent.spend.prices import utc_now
from agent.spend.usage import TokenUsage, price_usage
from agent.tokens import count_tokens

DeltaSink = Callable[[str, str], None]


class ModelCaller:
    """Calls models for one session and records what each call cost."""

    def __init__(self, session: Session, clients: Callable[[str], ModelClient]) -> None:
        self.session = session
        self._clients = clients
        self.prices = session.config.price_table()
        self.clock: Callable[[], dt.datetime] = utc_now  # when calls start: their price depends on it
        self._previous: dict[str, list[Message]] = {}  # each model's last prompt, message by message

    def _with_cache(self, model: str, messages: Sequence[Message], usage: TokenUsage,
                    before: list[Message] | None = None) -> TokenUsage:
        """An estimated usage with the cache hits the provider would have given: the prompt's messages shared
        with the model's previous prompt (providers cache a repeated prefix). Reported usage is left alone."""
        if not usage.estimated or usage.cache_hit_tokens:
            return usage
        earlier = before if before is not None else self._previous.get(model)
        if not earlier:
            return usage
        shared = []
        for old, new in zip(earlier, messages, strict=False):
            if old is not new and old != new:
                break
            shared.append(new)
        if not shared:
            return usage
        tokenizer = self.session.config.model_spec(model).tokenizer
        hit = min(count_tokens(prompt_text(shared), tokenizer), usage.input_tokens)
        return usage.model_copy(update={"cache_hit_tokens": hit})

    async def call(self, model: str, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = (), *,
                   role: Role = "execute", reason: str = "", on_delta: DeltaSink | None = None,
                   started: dt.datetime | None = None, effort: Effort | None = None,
                   max_output_tokens: int | None = None, record: bool = True) -> ModelResult:
        """One call to `model`, its usage recorded under `role` (unless `record` is False: the caller records
        it, e.g. after deciding the answer is usable). A call cancelled mid-way (Ctrl+C, /compact) was still
        billed: its usage is recorded as an estimate before the cancellation goes on."""
        started = started or self.clock()
        previous = self._previous.get(model)
        answer: list[str] = []
        reasoning: list[str] = []

        def sink(kind: str, text: str) -> None:
            if kind == "reset":
                answer.clear()
                reasoning.clear()
            else:
                (reasoning if kind == "reasoning" else answer).append(text)
            if on_delta is not None:
                on_delta(kind, text)

        clock0 = time.monotonic()  # `started` on the monotonic clock: attempts are priced by when they were sent

        def at(sent: float | None) -> dt.datetime:
            return started + dt.timedelta(seconds=max(0.0, sent - clock0)) if sent is not None else started

        def record_billed(attempts: Sequence[object]) -> None:
            for billed in attempts:
                if isinstance(billed, BilledAttempt):
                    self.record(model, billed.usage, at(billed.sent_monotonic), role=role, reason=reason)

        try:
            result = await self._clients(model).complete(messages, tools, sink, effort=effort,
                                                         max_output_tokens=max_output_tokens)
        except ProviderError as exc:
            record_billed(exc.billed_attempts)  # cut attempts before the failure: billed all the same
            raise
        except asyncio.CancelledError as exc:
            record_billed(getattr(exc, "billed_attempts", ()))
            if getattr(exc, "request_in_flight", True):  # cancelled while waiting to retry: nothing was out
                tokenizer = self.session.config.model_spec(model).tokenizer
                usage = estimate_usage(tokenizer, messages, "".join(answer), "".join(reasoning), note=CANCELLED)
                self.record(model, self._with_cache(model, messages, usage), started, role=role, reason=reason)
            raise
        finally:
            self._previous[model] = list(messages)
        record_billed(result.billed_attempts)
        result = dataclasses.replace(result, sent_at=at(result.sent_monotonic),
                                     usage=self._with_cache(model, messages, result.usage, before=previous))
        if record:
            self.record(model, result.usage, result.sent_at or started, role=role, reason=reason)
        return result

    def record(self, model: str, usage: TokenUsage, started: dt.datetime, *, role: Role = "execute",
               reason: str = "") -> None:
        record = price_usage(model, usage, self.prices, started, role=role, reason=reason)
        spend = self.session.ledger.add(record)
        self.session.emit(UsageEvent(record=record, model_total=spend, session_usd=str(self.session.ledger.total_usd)))
