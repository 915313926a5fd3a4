"""What each source file defines and mentions, cached by content, in two depths.

Ranking needs only names: the names a file defines (a lexical pass per language, milliseconds per file) and
the identifiers it mentions. Full definitions (tree-sitter: signatures, decorators, classes, bodies) are
needed only for the files the map actually shows, a few hundred at most, so only those are parsed. On a
monorepo this is the difference between parsing tens of thousands of files and parsing two hundred.
"""

from __future__ import annotations

import pickle
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agent.context.scan import digest as _digest
from tools.symbols import LANGUAGE_BY_SUFFIX, Definition, definitions

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}", re.ASCII)
PARALLEL_MIN_FILES = 400
CACHE_VERSION = 4
_W = r"([A-Za-z_$][\w$]*)"
# Definition names by language, lexically: the same names tree-sitter finds, give or take a nested helper.
NAME_PATTERNS = {
    "python": rf"\n[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{_W}",  # `\n`, not `^`: a literal the engine seeks
    "javascript": rf"(?:function\*?\s*{_W}|class\s+{_W}|(?:const|let|var)\s+{_W}\s*=\s*(?:async\s*)?"
                  rf"(?:function|\([^)]*\)\s*=>|[\w$]+\s*=>)|^[ \t]+(?:static\s+|async\s+|get\s+|set\s+)*"
                  rf"{_W}\s*\([^)\n]*\)\s*\{{)",
    "go": rf"^(?:func\s+(?:\([^)]*\)\s*)?{_W}|type\s+{_W}|[ \t]+{_W}\s+(?:struct|interface)\b)",
    "rust": rf"(?:fn|struct|enum|trait)\s+{_W}",
    "java": rf"(?:(?:class|interface|enum)\s+{_W}|^[ \t]+(?:[\w<>\[\],?]+\s+)+{_W}\s*\([^)]*\)\s*"
            rf"(?:throws[^{{;]+)?\{{)",
}
NAME_PATTERNS["typescript"] = NAME_PATTERNS["tsx"] = (
    NAME_PATTERNS["javascript"][:-1] + rf"|(?:interface|type)\s+{_W})")
_NAME_RES = {lang: re.compile(p, re.MULTILINE) for lang, p in NAME_PATTERNS.items()}
_KEYWORDS = frozenset({"if", "for", "while", "switch", "catch", "return", "function", "new", "else", "do"})
# On disk and in memory tags are plain tuples: unpickling thousands of files of dataclasses is three times slower.
RawNames = tuple[tuple[str, ...], dict[str, int]]
RawDefs = tuple[tuple[str, str, int, str, int, str, int], ...]


@dataclass(frozen=True)
class FileNames:
    """The names a file defines (lexically) and how often it mentions each identifier."""

    defined: tuple[str, ...]
    mentions: dict[str, int]


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return LANGUAGE_BY_SUFFIX.get(path[dot:]) if dot >= 0 else None


def extract_names(path: str, data: bytes) -> RawNames:
    """Defined names and mentioned identifiers of one file (latin-1: one character per byte, ASCII names as-is)."""
    lang = language_of(path)
    text = "\n" + data.decode("latin-1")
    defined: tuple[str, ...] = ()
    if lang:
        pattern = _NAME_RES[lang]
        found = pattern.findall(text)
        if pattern.groups > 1:
            found = [g for groups in found for g in groups if g]
        defined = tuple(dict.fromkeys(n for n in found if n not in _KEYWORDS))
    return defined, dict(Counter(IDENT.findall(text)))


def _names_batch(batch: list[tuple[str, bytes]]) -> list[RawNames]:
    return [extract_names(path, data) for path, data in batch]


def _defs_batch(batch: list[tuple[str, bytes]]) -> list[RawDefs]:
    out: list[RawDefs] = []
    for path, data in batch:
        lang = language_of(path)
        defs = definitions(data, lang) if lang else []
        out.append(tuple((d.name, d.kind, d.line, d.signature, d.end_line, d.parent, d.start_line) for d in defs))
    return out


class TagCache:
    """Names (every source file) and full definitions (files shown), by content digest; only new content is
    read, and many files are done in two processes."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._names: dict[str, RawNames] = {}
        self._defs: dict[str, RawDefs] = {}
        self._dirty = False
        self.parsed = 0  # files whose names were extracted by the last `names` call (the rest were cached)
        self.parsed_defs = 0  # files parsed with tree-sitter by this cache
        if path and path.is_file():
            try:
                version, names, defs = pickle.loads(path.read_bytes())
                if version == CACHE_VERSION:
                    self._names, self._defs = names, defs
            except Exception:  # a stale or torn cache is rebuilt, never trusted
                self._names, self._defs = {}, {}

    def names(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None) -> dict[str, FileNames]:
        """Names of every source file; with `digests`, cached files are not even read."""
        wanted = [p for p in files if language_of(p)]
        keys = {p: digests[p] if digests is not None else _digest(files[p]) for p in wanted}
        missing = [(p, files[p]) for p in sorted(wanted) if keys[p] not in self._names]
        self.parsed = len(missing)
        if missing:
            for (path, _), raw in zip(missing, _in_parallel(_names_batch, missing), strict=True):
                self._names[keys[path]] = raw
            self._dirty = True
        return {p: FileNames(*self._names[keys[p]]) for p in wanted}

    def definitions(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None,
                    paths: Iterable[str]) -> dict[str, tuple[Definition, ...]]:
        """Full definitions (tree-sitter) of `paths`, parsed now only where not cached."""
        wanted = [p for p in dict.fromkeys(paths) if language_of(p)]
        keys = {p: digests[p] if digests is not None else _digest(files[p]) for p in wanted}
        missing = [(p, files[p]) for p in wanted if keys[p] not in self._defs]
        if missing:
            for (path, _), raw in zip(missing, _in_parallel(_defs_batch, missing), strict=True):
                self._defs[keys[path]] = raw
            self.parsed_defs += len(missing)
            self._dirty = True
        return {p: tuple(Definition(*d) for d in self._defs[keys[p]]) for p in wanted}

    def save(self) -> None:
        if self._path and self._dirty:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps((CACHE_VERSION, self._names, self._defs),
                                         protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(self._path)
            self._dirty = False


def _in_parallel(work, items: list[tuple[str, bytes]]) -> list:  # type: ignore[no-untyped-def]
    """`work(items)`, split over this process and one worker when there are many (the machine may have two
    cores; more workers only fight over them)."""
    if len(items) < PARALLEL_MIN_FILES:
        return work(items)
    half = len(items) // 2
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            first = pool.submit(work, items[:half])
            second = work(items[half:])  # this process does the other half meanwhile
            return first.result() + second
    except (OSError, RuntimeError):  # no process pool here: do it all in this process
        return work(items)
