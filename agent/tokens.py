"""Offline token counting: o200k (bundled by bpe-openai) and a calibrated estimate for DeepSeek V4."""

from __future__ import annotations

import functools
from typing import Any

# DeepSeek V4's tokenizer gives 3–11% more tokens than o200k on code and English (API-NOTES.md);
# using the top of that range keeps budgets from being undercounted.
DEEPSEEK_OVER_O200K = 1.12
CHARS_PER_TOKEN_FALLBACK = 3.2


@functools.cache
def _o200k() -> Any:
    try:
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # the tokenizer is optional at run time; fall back to a character estimate
        return None


def count_o200k(text: str) -> int:
    enc = _o200k()
    if enc is None:
        return int(len(text) / CHARS_PER_TOKEN_FALLBACK) + 1
    return len(enc.encode_ordinary(text))


def count_tokens(text: str, model: str) -> int:
    """Tokens `text` costs when sent to `model` (counted, or estimated so as not to undercount)."""
    n = count_o200k(text)
    return int(n * DEEPSEEK_OVER_O200K + 0.999) if model.startswith("deepseek") else n
