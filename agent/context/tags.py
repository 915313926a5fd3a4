"""Definitions (tree-sitter) and identifier mentions of each source file, cached by content."""

from __future__ import annotations

import pickle
import re
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agent.context.scan import digest as _digest
from tools.symbols import LANGUAGE_BY_SUFFIX, Definition, definitions

IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{2,}")
PARALLEL_MIN_FILES = 400
CACHE_VERSION = 2
# On disk and in memory tags are plain tuples: unpickling 3,000 files of dataclasses takes three times longer.
RawTags = tuple[tuple[tuple[str, str, int, str], ...], dict[str, int]]


@dataclass(frozen=True)
class FileTags:
    defs: tuple[Definition, ...]
    mentions: dict[str, int]


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return LANGUAGE_BY_SUFFIX.get(path[dot:]) if dot >= 0 else None


def extract(path: str, data: bytes) -> FileTags:
    lang = language_of(path)
    defs = tuple(definitions(data, lang)) if lang else ()
    mentions = Counter(m.decode("ascii") for m in IDENT.findall(data))
    return FileTags(defs=defs, mentions=dict(mentions))


def _extract_batch(batch: list[tuple[str, bytes]]) -> list[RawTags]:
    out: list[RawTags] = []
    for path, data in batch:
        tags = extract(path, data)
        out.append((tuple((d.name, d.kind, d.line, d.signature) for d in tags.defs), tags.mentions))
    return out


def _from_raw(raw: RawTags) -> FileTags:
    return FileTags(defs=tuple(Definition(*d) for d in raw[0]), mentions=raw[1])


class TagCache:
    """Tags per file content; only new or changed files are parsed (in two processes when many)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._cache: dict[str, RawTags] = {}
        self._dirty = False
        self.parsed = 0  # files parsed by the last call (the rest came from the cache)
        if path and path.is_file():
            try:
                version, cache = pickle.loads(path.read_bytes())
                self._cache = cache if version == CACHE_VERSION else {}
            except Exception:  # a stale or torn cache is rebuilt, never trusted
                self._cache = {}

    def tags(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None) -> dict[str, FileTags]:
        """Tags of every source file; with `digests`, cached files are not even read."""
        wanted = [p for p in files if language_of(p)]
        keys = {p: digests[p] if digests is not None else _digest(files[p]) for p in wanted}
        missing = [(p, files[p]) for p in sorted(wanted) if keys[p] not in self._cache]
        self.parsed = len(missing)
        if missing:
            for (path, _), tags in zip(missing, _extract_all(missing), strict=True):
                self._cache[keys[path]] = tags
            self._dirty = True
        return {p: _from_raw(self._cache[keys[p]]) for p in wanted}

    def save(self) -> None:
        if self._path and self._dirty:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps((CACHE_VERSION, self._cache), protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(self._path)
            self._dirty = False


def _extract_all(items: list[tuple[str, bytes]]) -> list[RawTags]:
    if len(items) < PARALLEL_MIN_FILES:
        return _extract_batch(items)
    half = len(items) // 2
    try:
        with ProcessPoolExecutor(max_workers=2) as pool:
            first = pool.submit(_extract_batch, items[:half])
            second = _extract_batch(items[half:])  # this process does the other half
            return first.result() + second
    except (OSError, RuntimeError):  # no process pool here: do it all in this process
        return _extract_batch(items)
