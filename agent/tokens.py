"""Offline token counting: o200k (bundled by bpe-openai) and a calibrated estimate for DeepSeek V4."""

from __future__ import annotations

import functools
from typing import Any

from agent.catalog import Tokenizer

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


# bpe-openai refuses inputs over a million characters and chunks over 200,000 tokens; at most one token
# per character, 150,000 characters is safe for any text.
CHUNK_CHARS = 150_000


def count_o200k(text: str) -> int:
    """o200k tokens of `text` of any length (long texts are counted in chunks)."""
    enc = _o200k()
    if enc is None:
        return int(len(text) / CHARS_PER_TOKEN_FALLBACK) + 1
    return sum(len(enc.encode_ordinary(text[i:i + CHUNK_CHARS])) for i in range(0, len(text), CHUNK_CHARS))


def count_tokens(text: str, tokenizer: Tokenizer) -> int:
    """Tokens `text` costs for a model with `tokenizer` (its config entry's), counted or estimated high."""
    n = count_o200k(text)
    return scale_o200k(n, tokenizer)


def scale_o200k(n: int, tokenizer: Tokenizer, ratio: float = DEEPSEEK_OVER_O200K) -> int:
    """An o200k count as `tokenizer` tokens (DeepSeek V4: scaled by `ratio`, rounded up)."""
    return int(n * ratio + 0.999) if tokenizer == "deepseek-v4" else n
