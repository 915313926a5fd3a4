"""Usage of a call the provider never reported (cancelled, or cut before its usage chunk), counted offline."""

from __future__ import annotations

from collections.abc import Sequence

from agent.catalog import Tokenizer
from agent.messages import AssistantMessage, Message, UserMessage
from agent.spend.usage import TokenUsage
from agent.tokens import count_tokens

CANCELLED = "cancelled mid-stream"


def prompt_text(messages: Sequence[Message]) -> str:
    """The text a prompt carries, field by field (an image counts by its description, not its base64)."""
    parts: list[str] = []
    for message in messages:
        parts.append(message.content)
        if isinstance(message, AssistantMessage):
            parts.append(message.reasoning)
            parts += [call.name + call.arguments for call in message.tool_calls]
        elif isinstance(message, UserMessage):
            parts += [image.description for image in message.images]
    return "\n".join(parts)


def estimate_usage(tokenizer: Tokenizer, messages: Sequence[Message], answer: str, reasoning: str = "",
                   note: str = "") -> TokenUsage:
    """A conservative estimate with the offline tokenizers: the whole prompt uncached, the answer so far as
    output; marked estimated."""
    reasoning_tokens = count_tokens(reasoning, tokenizer) if reasoning else 0
    output = (count_tokens(answer, tokenizer) if answer else 0) + reasoning_tokens
    return TokenUsage(input_tokens=count_tokens(prompt_text(messages), tokenizer), cache_hit_tokens=0,
                      output_tokens=output, reasoning_tokens=reasoning_tokens, estimated=True, note=note)
