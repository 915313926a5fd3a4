"""One streaming Chat Completions code path for every chat-API model (DeepSeek, OpenAI, OpenRouter,
self-hosted servers); faults, retries and deadlines are handled by the shared CallRunner."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai

from agent.catalog import Dialect, Effort, ModelConfig
from agent.messages import AssistantMessage, Message
from agent.providers.accumulate import StreamAccumulator
from agent.providers.base import OPENED, DeltaSink, Finish, ModelResult, ToolSchema
from agent.providers.calls import CallRunner
from agent.providers.errors import StreamCut
from agent.providers.textcalls import has_text_tool_calls, recover_text_tool_calls
from agent.providers.usage_parse import estimate_usage, parse_usage
from agent.providers.wire import request_body
from agent.spend.usage import TokenUsage

FINISHES: dict[str, Finish] = {"stop": "stop", "tool_calls": "tool_calls", "length": "length",
                               "content_filter": "content_filter", "function_call": "tool_calls"}
CUT_NOTE = "stream cut after the answer, before its usage"


class ChatProvider:
    """Calls one model through Chat Completions (openai SDK, streaming)."""

    def __init__(self, *, name: str, spec: ModelConfig, dialect: Dialect, client: openai.AsyncOpenAI,
                 runner: CallRunner) -> None:
        self.name = name
        self.spec = spec
        self.dialect = dialect
        self.runner = runner
        self._client = client

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSchema],
                       on_delta: DeltaSink | None = None, *, effort: Effort | None = None,
                       max_output_tokens: int | None = None) -> ModelResult:
        """One model turn, retried as a whole on transient faults; raises only our ProviderError types."""
        params, extra = request_body(self.spec.api_model or self.name, self.spec, self.dialect, messages, tools,
                                     effort=effort, max_output_tokens=max_output_tokens)

        async def attempt(sink: DeltaSink, number: int) -> ModelResult:
            return await self._attempt(params, extra, sink, number)

        def estimate(answer: str, reasoning: str) -> TokenUsage:
            request_text = json.dumps([params["messages"], params.get("tools")], ensure_ascii=False)
            return estimate_usage(self.spec.tokenizer, request_text, answer, reasoning)

        return await self.runner.run(attempt, on_delta, estimate)

    async def close(self) -> None:
        await self._client.close()

    async def _attempt(self, params: dict[str, Any], extra: dict[str, Any], sink: DeltaSink,
                       attempt: int) -> ModelResult:
        acc = StreamAccumulator()
        raw_usage: dict[str, Any] | None = None
        stream = await self._client.chat.completions.create(**params, extra_body=extra or None)
        sink(OPENED, "")  # accepted: from here on the provider may bill this attempt
        cut_after_answer = False
        try:
            while True:
                try:
                    chunk = await self.runner.next_item(stream)
                except StreamCut:
                    if acc.finish_reason is None:
                        raise
                    # The whole answer came (finish_reason sent); only the usage chunk was lost. The provider
                    # billed this call: keep its answer (a retry would be billed again) and estimate its usage.
                    cut_after_answer = True
                    break
                if chunk is None:
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
        details = acc.reasoning_details
        origin = self.dialect if (acc.reasoning_text or details) and self.dialect in ("deepseek", "openrouter") \
            else ""
        message = AssistantMessage(content=content, reasoning=acc.reasoning_text, model=self.name,
                                   tool_calls=tuple(calls), reasoning_origin=origin,
                                   reasoning_details=json.dumps(details) if details else "")
        if raw_usage is not None:
            usage = parse_usage(raw_usage)
        else:
            request_text = json.dumps([params["messages"], params.get("tools")], ensure_ascii=False)
            answer = content + "".join(c.name + c.arguments for c in calls)
            usage = estimate_usage(self.spec.tokenizer, request_text, answer, acc.reasoning_text)
            if cut_after_answer:
                usage = usage.model_copy(update={"note": CUT_NOTE})
        finish = FINISHES.get(acc.finish_reason, "stop")
        return ModelResult(message=message, usage=usage, finish_reason=finish, attempts=attempt,
                           recovered_text_calls=recovered,
                           truncated_reason="max_output_tokens" if finish == "length" else "")

    @staticmethod
    def _take_delta(acc: StreamAccumulator, delta: Any, sink: DeltaSink) -> None:
        if delta is None:
            return
        # DeepSeek streams reasoning_content; OpenRouter streams reasoning and reasoning_details.
        reasoning = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
        if reasoning:
            acc.add_reasoning(reasoning)
            sink("reasoning", reasoning)
        details = getattr(delta, "reasoning_details", None)
        if isinstance(details, list):
            acc.add_reasoning_details([d for d in details if isinstance(d, dict)])
        if delta.content:
            acc.add_text(delta.content)
            sink("text", delta.content)
        for tc in delta.tool_calls or []:
            fn = tc.function
            acc.add_tool_delta(tc.index, tc.id, fn.name if fn else None, fn.arguments if fn else None)
