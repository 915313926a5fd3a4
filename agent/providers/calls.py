"""What every wire API shares: one attempt loop with deadline, retries and backoff, reading a stream
with cut detection, and SDK errors mapped onto our own few types. Chat Completions and Responses both
run their calls through a `CallRunner`, so both behave exactly alike on faults."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

import openai

from agent.config import RetryConfig
from agent.providers.base import OPENED, RETRIED_NOTE, BilledAttempt, DeltaSink, ModelResult
from agent.providers.errors import (
    AuthError,
    BadRequest,
    ContextTooLong,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamCut,
)
from agent.spend.usage import TokenUsage

T = TypeVar("T")
Attempt = Callable[[DeltaSink, int], Awaitable[ModelResult]]
Estimate = Callable[[str, str], "TokenUsage"]
"""(answer so far, reasoning so far) → the usage of an attempt cut after it started, estimated."""


def make_client(base_url: str, api_key: str, retry: RetryConfig) -> openai.AsyncOpenAI:
    """An SDK client with its own retries off (we retry in one place, CallRunner), encoding a large system
    prompt once per session rather than once per request (fastbody)."""
    from agent.providers.fastbody import CachedBodyClient

    return CachedBodyClient(base_url=base_url, api_key=api_key, max_retries=0,
                              timeout=openai.Timeout(retry.read_timeout_s, connect=15.0))


class CallRunner:
    """Runs attempts of one model call under a wall-clock deadline, retrying transient faults."""

    def __init__(self, *, name: str, retry: RetryConfig, secret: str, on_notice: Callable[[str], None],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.name = name
        self._retry = retry
        self._secret = secret
        self._notice = on_notice
        self.sleep = sleep

    async def run(self, attempt_once: Attempt, on_delta: DeltaSink | None,
                  estimate: Estimate | None = None) -> ModelResult:
        """The first attempt that completes; raises only our ProviderError types.

        Every attempt that the provider had started answering and that then failed (cut, stalled, malformed,
        past the deadline) may be billed: with `estimate`, each is kept as a BilledAttempt on the result, or on
        the error (or the cancellation) that ends the call, so the ledger can record it."""
        sink = on_delta or (lambda _kind, _text: None)
        attempt = 0
        billed: list[BilledAttempt] = []
        while True:
            attempt += 1
            opened, streamed = [False], [False]
            answer: list[str] = []
            reasoning: list[str] = []

            def tracking_sink(kind: str, text: str, _opened: list[bool] = opened, _streamed: list[bool] = streamed,
                              _answer: list[str] = answer, _reasoning: list[str] = reasoning) -> None:
                if kind == OPENED:
                    _opened[0] = True
                    return
                _streamed[0] = True
                (_reasoning if kind == "reasoning" else _answer).append(text)
                sink(kind, text)

            sent = time.monotonic()  # when this attempt's request goes out: its price depends on it
            try:
                async with asyncio.timeout(self._retry.call_deadline_s):
                    result = await attempt_once(tracking_sink, attempt)
                return dataclasses.replace(result, sent_monotonic=sent, billed_attempts=tuple(billed))
            except TimeoutError:
                error: ProviderError = ProviderUnavailable(
                    f"no complete answer within {self._retry.call_deadline_s:g} s", model=self.name)
            except ProviderError as exc:
                error = exc
            except openai.OpenAIError as exc:
                error = self.map_error(exc)
            except asyncio.CancelledError as exc:  # the loop records this attempt; the earlier ones are here
                exc.billed_attempts = tuple(billed)  # type: ignore[attr-defined]
                raise
            if (opened[0] or streamed[0]) and estimate is not None:
                usage = estimate("".join(answer), "".join(reasoning))
                billed.append(BilledAttempt(usage.model_copy(update={"note": RETRIED_NOTE}), sent))
            if not error.retryable or attempt > self._retry.max_retries:
                error.billed_attempts = tuple(billed)
                raise error
            if streamed[0]:
                sink("reset", "")
            delay = self._delay(attempt, error)
            self._notice(f"{self.name}: {error} — retry {attempt}/{self._retry.max_retries} in {delay:.1f} s")
            try:
                await self.sleep(delay)
            except asyncio.CancelledError as exc:  # between attempts: no request is out, nothing more to bill
                exc.billed_attempts = tuple(billed)  # type: ignore[attr-defined]
                exc.request_in_flight = False  # type: ignore[attr-defined]
                raise

    async def next_item(self, stream: AsyncIterator[T]) -> T | None:
        """The next stream item, None at the end; a failure while reading is a cut stream (retried whole).

        Only reading is guarded: an error in our own handling of an item is a bug and must not pass for a
        network fault.
        """
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None
        except openai.APIConnectionError as exc:
            raise StreamCut(f"the stream was cut: {self.clean(str(exc))}", model=self.name) from None
        except openai.OpenAIError:
            raise
        except Exception as exc:  # the HTTP stack's own errors that the SDK does not wrap
            raise StreamCut(f"connection failed mid-stream: {type(exc).__name__}", model=self.name) from None

    def _delay(self, attempt: int, error: ProviderError) -> float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self._retry.retry_after_cap_s)
        base = min(self._retry.backoff_base_s * 2 ** (attempt - 1), self._retry.backoff_cap_s)
        return base * (0.75 + random.random() / 2)  # jitter, so parallel runs don't retry in step

    def clean(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def map_error(self, exc: openai.OpenAIError) -> ProviderError:
        """SDK exception → one of our types, with the provider's own message."""
        if isinstance(exc, openai.APITimeoutError):
            return ProviderUnavailable(f"request timed out ({self._retry.read_timeout_s:g} s without data)",
                                       model=self.name)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderUnavailable(f"cannot connect: {self.clean(str(exc))}", model=self.name)
        if not isinstance(exc, openai.APIStatusError):
            return ProviderUnavailable(self.clean(str(exc)), model=self.name)
        status = exc.status_code
        message = self.clean(_provider_message(exc))
        text = f"{status} {message}"
        if status == 429:
            return RateLimited(text, model=self.name, retry_after=_retry_after(exc.response.headers))
        if status in (401, 402, 403):
            return AuthError(text, model=self.name, status=status)
        if status >= 500 or status in (408, 409):
            return ProviderUnavailable(text, model=self.name, status=status)
        lowered = message.lower()
        if "context" in lowered and any(w in lowered for w in ("length", "maximum", "too long", "exceed")):
            return ContextTooLong(text, model=self.name, status=status)
        return BadRequest(text, model=self.name, status=status)


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return exc.message


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None
