"""Reading usage from either provider's shape, and estimating it when a stream brings none."""

from __future__ import annotations

from typing import Any

from agent.catalog import Tokenizer
from agent.spend.usage import TokenUsage
from agent.tokens import count_tokens


def parse_usage(raw: dict[str, Any]) -> TokenUsage:
    """DeepSeek: prompt_cache_hit_tokens / prompt_cache_miss_tokens. OpenAI: prompt_tokens_details.cached_tokens.

    DeepSeek sometimes sends both shapes; its own fields win because they are what it bills. When it sends
    the miss count alone, the hits are the rest of the prompt (prompt_tokens = hit + miss).
    """
    prompt = int(raw.get("prompt_tokens") or 0)
    details = raw.get("prompt_tokens_details") or {}
    if raw.get("prompt_cache_hit_tokens") is not None:
        hit = int(raw["prompt_cache_hit_tokens"])
        miss = raw.get("prompt_cache_miss_tokens")
        if miss is not None:
            prompt = max(prompt, hit + int(miss))
    elif raw.get("prompt_cache_miss_tokens") is not None:
        hit = max(prompt - int(raw["prompt_cache_miss_tokens"]), 0)
    else:
        hit = int(details.get("cached_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    reasoning = int((raw.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    return TokenUsage(input_tokens=prompt, cache_hit_tokens=min(hit, prompt), output_tokens=completion,
                      reasoning_tokens=min(reasoning, completion) if completion else reasoning)


def parse_responses_usage(raw: dict[str, Any]) -> TokenUsage:
    """The Responses API's shape: input_tokens (cached_tokens and cache_write_tokens among them),
    output_tokens (reasoning_tokens among them).

    Cache writes are a part of the uncached input and are billed at the input price, so they need no
    field of their own: input − cached is exactly what is billed at the full rate.
    """
    prompt = int(raw.get("input_tokens") or 0)
    details = raw.get("input_tokens_details") or {}
    hit = int(details.get("cached_tokens") or 0)
    completion = int(raw.get("output_tokens") or 0)
    reasoning = int((raw.get("output_tokens_details") or {}).get("reasoning_tokens") or 0)
    return TokenUsage(input_tokens=prompt, cache_hit_tokens=min(hit, prompt), output_tokens=completion,
                      reasoning_tokens=min(reasoning, completion) if completion else reasoning)


def estimate_usage(tokenizer: Tokenizer, request_text: str, answer_text: str, reasoning_text: str) -> TokenUsage:
    """A conservative estimate (no cache hits assumed), marked as such."""
    reasoning = count_tokens(reasoning_text, tokenizer) if reasoning_text else 0
    output = count_tokens(answer_text, tokenizer) + reasoning
    return TokenUsage(input_tokens=count_tokens(request_text, tokenizer), cache_hit_tokens=0,
                      output_tokens=output, reasoning_tokens=reasoning, estimated=True)
