"""Estimating what the next call will cost, so a budget is checked before spending, not after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from agent.messages import AssistantMessage, Message, UserMessage
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable, cost_usd

CHARS_PER_TOKEN = 3  # conservative for code: counts more tokens than any tokenizer we use
EXPECTED_OUTPUT_TOKENS = 1_000
TOOLS_TOKENS = 2_000  # the tool schemas, sent with every call


def estimate_prompt_tokens(messages: Sequence[Message], tools_tokens: int = TOOLS_TOKENS) -> int:
    """Tokens the conversation takes in a prompt, leaning high (`tools_tokens`: the tool schemas, when counted)."""
    return tools_tokens + sum(_chars(m) for m in messages) // CHARS_PER_TOKEN


MESSAGE_OVERHEAD_CHARS = 40  # role, ids and JSON punctuation around each message


def _chars(message: Message) -> int:
    """Characters a message takes on the wire, from its fields (no JSON dump of a packed repository)."""
    size = MESSAGE_OVERHEAD_CHARS + len(message.content)
    if isinstance(message, AssistantMessage):
        size += len(message.reasoning) + sum(len(c.name) + len(c.arguments) + MESSAGE_OVERHEAD_CHARS
                                             for c in message.tool_calls)
    elif isinstance(message, UserMessage):
        size += sum(len(img.description) for img in message.images)
    return size


def estimate_call_usd(model: str, messages: Sequence[Message], ledger: Ledger, prices: PriceTable,
                      output_tokens: int | None = None, at: dt.datetime | None = None) -> Decimal:
    """Upper-leaning estimate of a call started `at` (now if omitted): the previous prompt of this model
    served from cache, the rest uncached."""
    price = prices.pricing_at(model, at)
    if price is None:
        return Decimal(0)
    prompt = estimate_prompt_tokens(messages)
    previous = next((r for r in reversed(ledger.records) if r.model == model), None)
    cached = min(prompt, previous.input_tokens) if previous else 0
    if output_tokens is None:
        output_tokens = max(EXPECTED_OUTPUT_TOKENS, previous.output_tokens if previous else 0)
    output = output_tokens
    return cost_usd(price, cache_miss=prompt - cached, cache_hit=cached, output=output)
