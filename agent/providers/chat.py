"""One streaming Chat Completions code path for every model, with our own retries and error types."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import openai

from agent.catalog import Dialect, ModelConfig
from agent.config import RetryConfig
from agent.messages import AssistantMessage, Message
from agent.providers.accumulate import StreamAccumulator
from agent.providers.errors import (
    AuthError,
    BadRequest,
    ContextTooLong,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamCut,
)
from agent.providers.textcalls import has_text_tool_calls, recover_text_tool_calls
from agent.providers.usage_parse import estimate_usage, parse_usage
from agent.providers.wire import request_body
from agent.spend.usage import TokenUsage

CUT_AFTER_ANSWER = object()  # read after a complete answer failed: the stream ended early, the answer stands
CUT_NOTE = "stream cut after the answer, before its usage"
DeltaSink = Callable[[str, str], None]
"""Called with ("text" | "reasoning", piece) while streaming, and ("reset", "") before a retry."""


@dataclass(frozen=True)
class ChatResult:
    message: AssistantMessage
    usage: TokenUsage
    finish_reason: str
    attempts: int
    recovered_text_calls: bool = False


class ChatProvider:
    """Calls one model through the openai SDK. The SDK's own retries are off: we retry in one place."""

    def __init__(
        self, *, name: str, spec: ModelConfig, dialect: Dialect, base_url: str, api_key: str,
        retry: RetryConfig, on_notice: Callable[[str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.spec = spec
        self.dialect = dialect
        self._retry = retry
        self._secret = api_key
        self._notice = on_notice or (lambda _msg: None)
        self._sleep = sleep
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, max_retries=0,
            timeout=openai.Timeout(retry.read_timeout_s, connect=15.0),
        )

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], on_delta: DeltaSink | None = None,
    ) -> ChatResult:
        """One model turn, retried as a whole on transient faults; raises only our ProviderError types."""
        params, extra = request_body(self.spec.api_model or self.name, self.spec, self.dialect, messages, tools)
        sink = on_delta or (lambda _kind, _text: None)
        attempt = 0
        while True:
            attempt += 1
            streamed = [False]

            def tracking_sink(kind: str, text: str, _streamed: list[bool] = streamed) -> None:
                _streamed[0] = True
                sink(kind, text)

            try:
                async with asyncio.timeout(self._retry.call_deadline_s):
                    return await self._attempt(params, extra, tracking_sink, attempt)
            except TimeoutError:
                error: ProviderError = ProviderUnavailable(
                    f"no complete answer within {self._retry.call_deadline_s:g} s", model=self.name)
            except ProviderError as exc:
                error = exc
            except openai.OpenAIError as exc:
                error = self._map(exc)
            if not error.retryable or attempt > self._retry.max_retries:
                raise error
            if streamed[0]:
                sink("reset", "")
            delay = self._delay(attempt, error)
            self._notice(f"{self.name}: {error} — retry {attempt}/{self._retry.max_retries} in {delay:.1f} s")
            await self._sleep(delay)

    async def close(self) -> None:
        await self._client.close()

    async def _attempt(self, params: dict[str, Any], extra: dict[str, Any], sink: DeltaSink,
                       attempt: int) -> ChatResult:
        acc = StreamAccumulator()
        raw_usage: dict[str, Any] | None = None
        stream = await self._client.chat.completions.create(**params, extra_body=extra or None)
        cut_after_answer = False
        try:
            while (chunk := await self._next_chunk(stream, answered=acc.finish_reason is not None)) is not None:
                if chunk is CUT_AFTER_ANSWER:
                    # The whole answer came (finish_reason sent); only the usage chunk was lost. The provider
                    # billed this call: keep its answer (a retry would be billed again) and estimate its usage.
                    cut_after_answer = True
                    break
                if chunk.usage is not None:
                    raw_usage = chunk.usage.model_dump()
                for choice in chunk.choices:
                    self._take_delta(acc, choice.delta, sink)
                    if choice.finish_reason:
                        acc.finish_reason = choice.finish_reason
        finally:
            await stream.close()
        if acc.finish_reason is None:
            raise StreamCut("the stream ended before the answer was complete", model=self.name)
        content, calls = acc.text, acc.tool_calls()
        recovered = False
        if not calls and has_text_tool_calls(content):
            content, calls = recover_text_tool_calls(content)
            recovered = bool(calls)
        message = AssistantMessage(content=content, reasoning=acc.reasoning_text, model=self.name,
                                   tool_calls=tuple(calls))
        if raw_usage is not None:
            usage = parse_usage(raw_usage)
        else:
            request_text = json.dumps([params["messages"], params.get("tools")], ensure_ascii=False)
            answer = content + "".join(c.name + c.arguments for c in calls)
            usage = estimate_usage(self.name, request_text, answer, acc.reasoning_text)
            if cut_after_answer:
                usage = usage.model_copy(update={"note": CUT_NOTE})
        return ChatResult(message=message, usage=usage, finish_reason=acc.finish_reason, attempts=attempt,
                          recovered_text_calls=recovered)

    async def _next_chunk(self, stream: Any, answered: bool = False) -> Any:
        """The next chunk, None at the end; a failure while reading is a cut stream (retried as a whole turn),
        or, once the answer is complete (`answered`), CUT_AFTER_ANSWER.

        Only reading is guarded: an error in our own handling of a chunk is a bug and must not pass for a
        network fault.
        """
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None
        except openai.APIConnectionError as exc:
            if answered:
                return CUT_AFTER_ANSWER
            raise StreamCut(f"the stream was cut: {self._clean(str(exc))}", model=self.name) from None
        except openai.OpenAIError:
            raise
        except Exception as exc:  # the HTTP stack's own errors that the SDK does not wrap
            if answered:
                return CUT_AFTER_ANSWER
            raise StreamCut(f"connection failed mid-stream: {type(exc).__name__}", model=self.name) from None

    @staticmethod
    def _take_delta(acc: StreamAccumulator, delta: Any, sink: DeltaSink) -> None:
        if delta is None:
            return
        reasoning = getattr(delta, "reasoning_content", None)
        if reasoning:
            acc.add_reasoning(reasoning)
            sink("reasoning", reasoning)
        if delta.content:
            acc.add_text(delta.content)
            sink("text", delta.content)
        for tc in delta.tool_calls or []:
            fn = tc.function
            acc.add_tool_delta(tc.index, tc.id, fn.name if fn else None, fn.arguments if fn else None)

    def _delay(self, attempt: int, error: ProviderError) -> float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self._retry.retry_after_cap_s)
        base = min(self._retry.backoff_base_s * 2 ** (attempt - 1), self._retry.backoff_cap_s)
        return base * (0.75 + random.random() / 2)  # jitter, so parallel runs don't retry in step

    def _clean(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _map(self, exc: openai.OpenAIError) -> ProviderError:
        """SDK exception → one of our types, with the provider's own message."""
        if isinstance(exc, openai.APITimeoutError):
            return ProviderUnavailable(f"request timed out ({self._retry.read_timeout_s:g} s without data)",
                                       model=self.name)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderUnavailable(f"cannot connect: {self._clean(str(exc))}", model=self.name)
        if not isinstance(exc, openai.APIStatusError):
            return ProviderUnavailable(self._clean(str(exc)), model=self.name)
        status = exc.status_code
        message = self._clean(_provider_message(exc))
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


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None
