"""Per-file token counts in each model's own tokenizer, cached on disk by content hash.

A file whose content was counted before (in any run, under any name) is never read or counted again,
so a warm run loads no tokenizer at all. o200k (GPT-5.5) is counted exactly; DeepSeek V4 is counted
exactly with its own tokenizer when a decision needs it (a close call on the pack budget, `--exact`), and
otherwise estimated high from o200k (×1.12, the top of the measured range).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from agent.catalog import Tokenizer
from agent.context.scan import digest as _digest
from agent.context.sealed import SealedFile
from agent.tokens import DEEPSEEK_OVER_O200K, count_deepseek, count_deepseek_many, count_o200k, deepseek_tokenizer

BYTES_PER_TOKEN_GUESS = 4
CACHE_VERSION = 3
DEEPSEEK_BATCH_CHARS = 4_000_000  # one encode_batch at a time: bounded memory, still parallel in Rust

__all__ = ["TokenCounter", "count_deepseek"]


class TokenCounter:
    """Token counts per file content (o200k and DeepSeek V4), kept in one JSON file between runs."""

    def __init__(self, cache_path: SealedFile | None = None) -> None:
        self._path = cache_path
        self._o200k: dict[str, int] = {}
        self._deepseek: dict[str, int] = {}
        self._dirty = False
        self.counted = 0  # files counted (not found in the cache) by this counter
        data = cache_path.load_json() if cache_path is not None else None
        if data is not None:
            try:
                if data.get("version") == CACHE_VERSION:  # type: ignore[attr-defined]
                    self._o200k, self._deepseek = data["o200k"], data["deepseek"]  # type: ignore[index]
            except (ValueError, KeyError, AttributeError, TypeError):  # not ours: rebuilt, never trusted
                self._o200k, self._deepseek = {}, {}

    def o200k(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None,
              paths: Iterable[str] | None = None) -> dict[str, int]:
        """o200k tokens per file (of `paths`, default all); with `digests`, cached files are not even read."""
        counts: dict[str, int] = {}
        for path in files if paths is None else paths:
            key = digests[path] if digests is not None else _digest(files[path])
            n = self._o200k.get(key)
            if n is None:
                n = count_o200k(files[path].decode("utf-8", errors="replace"))
                self._o200k[key] = n
                self._dirty = True
                self.counted += 1
            counts[path] = n
        return counts

    def remember_o200k(self, digests: Mapping[str, str], counts: Mapping[str, int]) -> None:
        """Counts made elsewhere (the parallel pack export), per path, kept by content like the rest."""
        for path, n in counts.items():
            if self._o200k.get(digests[path]) != n:
                self._o200k[digests[path]] = n
                self._dirty = True

    def deepseek(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None,
                 paths: Iterable[str] | None = None) -> dict[str, int]:
        """Exact DeepSeek V4 tokens per file, counted in parallel batches; o200k × 1.12 without its tokenizer."""
        wanted = list(files if paths is None else paths)
        keys = {p: digests[p] if digests is not None else _digest(files[p]) for p in wanted}
        missing = [p for p in wanted if keys[p] not in self._deepseek]
        if missing and deepseek_tokenizer() is None:  # not installed: an upper estimate, never cached as exact
            return self.count(files, "deepseek-v4", digests, wanted, exact=False)
        for batch in _batches(missing, files):
            counts = count_deepseek_many([files[p].decode("utf-8", errors="replace") for p in batch]) or []
            for path, n in zip(batch, counts, strict=True):
                self._deepseek[keys[path]] = n
            self._dirty = True
            self.counted += len(batch)
        return {p: self._deepseek[keys[p]] for p in wanted}

    def count(self, files: Mapping[str, bytes], tokenizer: Tokenizer, digests: Mapping[str, str] | None = None,
              paths: Iterable[str] | None = None, *, exact: bool = True) -> dict[str, int]:
        """Tokens per file for a model with `tokenizer`. DeepSeek: exact, or (exact=False) cached exact counts
        and o200k × 1.12 for the rest, which loads no DeepSeek tokenizer."""
        if tokenizer != "deepseek-v4":
            return self.o200k(files, digests, paths)
        if exact:
            return self.deepseek(files, digests, paths)
        wanted = list(files if paths is None else paths)
        o200k = self.o200k(files, digests, wanted)
        out: dict[str, int] = {}
        for path in wanted:
            key = digests[path] if digests is not None else _digest(files[path])
            known = self._deepseek.get(key)
            out[path] = known if known is not None else math.ceil(o200k[path] * DEEPSEEK_OVER_O200K)
        return out

    def estimate_total(self, digests: Mapping[str, str], sizes: Mapping[str, int], tokenizer: Tokenizer) -> int:
        """Tokens of all files without counting anything: cached counts, else bytes / 4 (× 1.12 for DeepSeek)."""
        total = 0.0
        deepseek = tokenizer == "deepseek-v4"
        for path, key in digests.items():
            n = self._deepseek.get(key) if deepseek else None
            if n is not None:
                total += n
                continue
            base = self._o200k.get(key)
            guess = base if base is not None else sizes[path] // BYTES_PER_TOKEN_GUESS + 1
            total += guess * DEEPSEEK_OVER_O200K if deepseek else guess
        return math.ceil(total)

    def save(self) -> None:
        if self._path and self._dirty:
            self._path.save_json({"version": CACHE_VERSION, "o200k": self._o200k, "deepseek": self._deepseek})
            self._dirty = False


def _batches(paths: list[str], files: Mapping[str, bytes]) -> Iterable[list[str]]:
    """`paths` in consecutive groups of about DEEPSEEK_BATCH_CHARS characters."""
    batch: list[str] = []
    size = 0
    for path in paths:
        batch.append(path)
        size += len(files[path])
        if size >= DEEPSEEK_BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
