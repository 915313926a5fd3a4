"""The Responses API path (`client.responses.create(..., stream=True)`): OpenAI's reasoning models with
function tools and reasoning together, reasoning carried across turns as encrypted items (store=false).
Faults, retries and deadlines go through the same CallRunner as Chat Completions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCustomToolCall,
    ResponseFailedEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseTextDeltaEvent,
)

from agent.catalog import Effort, ModelConfig
from agent.messages import AssistantMessage, Message, ReasoningItem, ToolCall
from agent.providers.base import OPENED, DeltaSink, ModelResult, ToolSchema
from agent.providers.calls import CallRunner
from agent.providers.errors import BadRequest, ProviderUnavailable, StreamCut
from agent.providers.responses_wire import freeform_arguments, freeform_call_arguments, responses_body
from agent.providers.usage_parse import estimate_usage, parse_responses_usage
from agent.spend.usage import TokenUsage

# Failure codes of `response.failed` that a retry can cure; anything else is a refused request.
TRANSIENT_FAILURES = frozenset({"server_error", "rate_limit_exceeded", "vector_store_timeout"})


@dataclass
class _Answer:
    """One response being assembled from its stream."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    items: list[ReasoningItem] = field(default_factory=list)
    pending: list[ReasoningItem] = field(default_factory=list)  # not yet followed by another item
    calls: list[ToolCall] = field(default_factory=list)
    final: Response | None = None
    freeform: dict[str, str] = field(default_factory=dict)  # freeform tools sent: name → the argument they fill

    def reasoning_done(self, item: ResponseReasoningItem) -> None:
        summary = tuple(s.text for s in item.summary)
        self.pending.append(ReasoningItem(id=item.id, encrypted_content=item.encrypted_content or "",
                                          summary=summary))

    def followed_by(self, call_id: str) -> None:
        """Reasoning items seen so far preceded this item (a call id, or "" for the answer text)."""
        self.items += [r.model_copy(update={"before": call_id}) for r in self.pending]
        self.pending.clear()


class ResponsesProvider:
    """Calls one model through the Responses API (openai SDK, streaming)."""

    def __init__(self, *, name: str, spec: ModelConfig, origin: str, client: openai.AsyncOpenAI,
                 runner: CallRunner, cache_key: str) -> None:
        self.name = name
        self.spec = spec
        self.origin = origin
        self.runner = runner
        self._client = client
        self._cache_key = cache_key

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSchema],
                       on_delta: DeltaSink | None = None, *, effort: Effort | None = None,
                       max_output_tokens: int | None = None) -> ModelResult:
        """One model turn, retried as a whole on transient faults; raises only our ProviderError types."""
        body = responses_body(self.spec.api_model or self.name, self.spec, self.origin, messages, tools,
                              effort=effort, max_output_tokens=max_output_tokens, cache_key=self._cache_key)

        freeform = freeform_arguments(tools)

        async def attempt(sink: DeltaSink, number: int) -> ModelResult:
            return await self._attempt(body, sink, number, freeform)

        def estimate(answer: str, reasoning: str) -> TokenUsage:
            request = json.dumps([body.get("instructions"), body["input"], body.get("tools")], ensure_ascii=False)
            return estimate_usage(self.spec.tokenizer, request, answer, reasoning)

        return await self.runner.run(attempt, on_delta, estimate)

    async def close(self) -> None:
        await self._client.close()

    async def _attempt(self, body: dict[str, Any], sink: DeltaSink, attempt: int,
                       freeform: dict[str, str]) -> ModelResult:
        answer = _Answer(freeform=freeform)
        stream = await self._client.responses.create(**body)
        sink(OPENED, "")  # accepted: from here on the provider may bill this attempt
        try:
            while (event := await self.runner.next_item(stream)) is not None:
                self._take(answer, event, sink)
                if answer.final is not None:
                    break
        finally:
            await stream.close()
        final = answer.final
        if final is None:  # no response.completed / .incomplete / .failed: there is no [DONE] to wait for
            raise StreamCut("the stream ended before the response was complete", model=self.name)
        answer.followed_by("")
        text = "".join(answer.text) or _output_text(final)
        message = AssistantMessage(
            content=text, reasoning="".join(answer.reasoning), model=self.name, tool_calls=tuple(answer.calls),
            reasoning_origin=self.origin if answer.items else "", reasoning_items=tuple(answer.items))
        if final.usage is not None:
            usage = parse_responses_usage(final.usage.model_dump())
        else:
            request = json.dumps([body.get("instructions"), body["input"], body.get("tools")], ensure_ascii=False)
            usage = estimate_usage(self.spec.tokenizer, request, text + "".join(c.arguments for c in answer.calls),
                                   message.reasoning)
        truncated = ""
        if final.status == "incomplete":
            details = final.incomplete_details
            truncated = (details.reason if details and details.reason else None) or "incomplete"
        return ModelResult(message=message, usage=usage, attempts=attempt, truncated_reason=truncated,
                           finish_reason="incomplete" if truncated else "tool_calls" if answer.calls else "stop")

    def _take(self, answer: _Answer, event: object, sink: DeltaSink) -> None:
        if isinstance(event, ResponseTextDeltaEvent):
            answer.text.append(event.delta)
            sink("text", event.delta)
        elif isinstance(event, ResponseReasoningSummaryTextDeltaEvent):
            answer.reasoning.append(event.delta)
            sink("reasoning", event.delta)
        elif isinstance(event, ResponseReasoningSummaryPartAddedEvent) and answer.reasoning:
            answer.reasoning.append("\n\n")
            sink("reasoning", "\n\n")
        elif isinstance(event, ResponseOutputItemDoneEvent):
            # The finished copy: the one in output_item.added may lack its encrypted content.
            item = event.item
            if isinstance(item, ResponseReasoningItem):
                answer.reasoning_done(item)
            elif isinstance(item, ResponseFunctionToolCall):
                answer.followed_by(item.call_id)
                answer.calls.append(ToolCall(id=item.call_id, name=item.name, arguments=item.arguments,
                                             item_id=item.id or ""))
            elif isinstance(item, ResponseCustomToolCall):
                answer.followed_by(item.call_id)
                argument = answer.freeform.get(item.name)
                # A freeform tool's text fills its one argument; an unknown custom tool's text goes on as it is
                # (the tool box then says the call is not valid JSON, written for the model to read).
                arguments = freeform_call_arguments(argument, item.input) if argument else item.input
                answer.calls.append(ToolCall(id=item.call_id, name=item.name, arguments=arguments,
                                             item_id=item.id or ""))
            elif isinstance(item, ResponseOutputMessage):
                answer.followed_by("")
        elif isinstance(event, ResponseCompletedEvent | ResponseIncompleteEvent):
            answer.final = event.response
        elif isinstance(event, ResponseFailedEvent):
            error = event.response.error
            code = error.code if error else None
            text = f"response failed: {self.runner.clean(error.message) if error else 'no reason given'}"
            if code is None or code in TRANSIENT_FAILURES:
                raise ProviderUnavailable(text, model=self.name)
            raise BadRequest(text, model=self.name)


def _output_text(response: Response) -> str:
    parts = []
    for item in response.output:
        if isinstance(item, ResponseOutputMessage):
            parts += [c.text for c in item.content if c.type == "output_text"]
    return "".join(parts)
