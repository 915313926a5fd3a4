"""What each source file defines and mentions, cached by content, in two depths.

Ranking needs only names: the names a file defines (a lexical pass per language, milliseconds per file) and
the identifiers it mentions. Full definitions (tree-sitter: signatures, decorators, classes, bodies) are
needed only for the files the map actually shows, a few hundred at most, so only those are parsed. On a
monorepo this is the difference between parsing tens of thousands of files and parsing two hundred.
"""

from __future__ import annotations

import re
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import compress, count
from typing import Any

import numpy as np

from agent.context.rank import name_traits
from agent.context.scan import digest as _digest
from agent.context.sealed import SealedFile
from tools.pysymbols import python_definitions
from tools.symbols import LANGUAGE_BY_SUFFIX, Definition, definitions

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}", re.ASCII)
PARALLEL_MIN_FILES = 400
DEFS_PARALLEL_MIN_FILES = 96  # full definitions cost ten times the names per file
CACHE_VERSION = 7
DELTA_MAX_ENTRIES = 2_000  # entries added since the base file before the base is rewritten
UNKNOWN_TRAITS = 255  # a vocabulary name whose traits are not worked out yet
FEW_NAMES = 20_000  # fewer new names than this are looked up without indexing the vocabulary
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
# Names are stored as ids into one vocabulary, per file as int32 arrays (bytes): a monorepo's twenty thousand
# files mention six million (file, identifier) pairs, which as dicts of strings take seconds to load and GBs.
RawNames = tuple[bytes, bytes, bytes]  # defined ids, mentioned ids, mention counts
RawDefs = tuple[tuple[str, str, int, str, int, str, int], ...]
Item = tuple[str, "bytes | str"]  # (workspace path, contents or the absolute path to read them from)


@dataclass(frozen=True)
class FileNames:
    """The names a file defines (lexically) and the identifiers it mentions, with counts, as vocabulary ids."""

    defined: np.ndarray
    mentioned: np.ndarray
    counts: np.ndarray


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return LANGUAGE_BY_SUFFIX.get(path[dot:]) if dot >= 0 else None


def extract_names(path: str, data: bytes) -> tuple[tuple[str, ...], dict[str, int]]:
    """Defined names and mentioned identifiers of one file (latin-1: one character per byte, ASCII names as-is)."""
    lang = language_of(path)
    defined: tuple[str, ...] = ()
    if lang:
        pattern = _NAME_RES[lang]
        found = pattern.findall("\n" + data.decode("latin-1"))
        if pattern.groups > 1:
            found = [g for groups in found for g in groups if g]
        defined = tuple(dict.fromkeys(n for n in found if n not in _KEYWORDS))
    return defined, identifiers(data)


_WORD_BYTES = bytes(c if c < 128 and (chr(c).isalnum() or c == ord("_")) else ord(" ") for c in range(256))


def identifiers(data: bytes) -> dict[str, int]:
    """IDENT's matches with their counts, in order of first appearance, without a regex: every run of word
    characters (in C: translate, split, count), then per distinct run its leading digits dropped, which is
    where IDENT's match in that run begins (a run of fewer than three letters after them has none)."""
    out: dict[str, int] = {}
    for run, n in Counter(data.translate(_WORD_BYTES).split()).items():
        name = run.lstrip(b"0123456789")
        if len(name) >= 3:
            key = name.decode("ascii")
            out[key] = out.get(key, 0) + n
    return out


def _read(item: Item) -> bytes:
    source = item[1]
    if isinstance(source, bytes):
        return source
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except OSError:  # gone since the scan: no names
        return b""


def _names_batch(batch: list[Item]) -> tuple[list[str], list[RawNames]]:
    """Names of a batch with ids into the batch's own vocabulary (the caller maps them onto its own)."""
    vocab: dict[str, int] = {}
    out: list[RawNames] = []
    for item in batch:
        defined, mentions = extract_names(item[0], _read(item))
        ids = [vocab.setdefault(n, len(vocab)) for n in defined]
        mentioned = [vocab.setdefault(n, len(vocab)) for n in mentions]
        out.append((array("i", ids).tobytes(), array("i", mentioned).tobytes(),
                    array("i", mentions.values()).tobytes()))
    return list(vocab), out


def _names_halves(items: list[Item]) -> list[tuple[list[str], list[RawNames]]]:
    return [_names_batch(items)] if len(items) < PARALLEL_MIN_FILES else _halves(_names_batch, items)


def _defs_batch(batch: list[Item]) -> list[RawDefs]:
    out: list[RawDefs] = []
    for item in batch:
        lang = language_of(item[0])
        if lang == "python":  # a lexical reader: ten times faster than parsing, the same records
            defs = python_definitions(_read(item))
        else:
            defs = definitions(_read(item), lang) if lang else []
        out.append(tuple((d.name, d.kind, d.line, d.signature, d.end_line, d.parent, d.start_line) for d in defs))
    return out


def no_huge_pages() -> None:
    """Stop numpy advising transparent huge pages for its arrays (NumPy's own NUMPY_MADVISE_HUGEPAGE=0, set
    at run time). Where the kernel defragments on that advice (`defrag=madvise`, a common default), every
    fresh multi-megabyte array compacts memory synchronously as it is first written: building the monorepo's
    graph spent three times as long in page faults as in arithmetic."""
    setter = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(setter, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)


class TagCache:
    """Names (every source file) and full definitions (files shown), by content digest; only new content is
    read, and many files are done in two processes."""

    def __init__(self, path: SealedFile | None = None) -> None:
        no_huge_pages()  # this process is about to build and drop arrays of tens of megabytes
        self._path = path
        self.vocab: list[str] = []
        self._ids: dict[str, int] | None = None  # built only when new files need ids
        self._names: dict[str, RawNames] = {}
        self._defs: dict[str, RawDefs] = {}
        self._dirty = False
        self.parsed = 0  # files whose names were extracted by the last `names` call (the rest were cached)
        self.parsed_defs = 0  # files parsed with tree-sitter by this cache
        # Entries added since the base file was written go to a small delta file: a one-file change in a
        # monorepo then writes kilobytes, not the whole 40 MB cache (the base is rewritten once the delta grows).
        self._base_token = ""
        self._base_vocab = 0
        self._added_names: dict[str, RawNames] = {}
        self._added_defs: dict[str, RawDefs] = {}
        self._traits = np.zeros(0, dtype=np.uint8)  # rank.name_traits per vocabulary id (UNKNOWN: not yet)
        stored: Any = path.load() if path is not None else None
        if stored is not None:
            try:
                version, token, vocab, names, defs, traits = stored
                if version == CACHE_VERSION:
                    self.vocab, self._names, self._defs, self._base_token = vocab, names, defs, token
                    self._traits = np.frombuffer(traits, dtype=np.uint8).copy()
                    self._base_vocab = len(vocab)
                    self._load_delta()
            except Exception:  # a stale or torn cache is rebuilt, never trusted
                self.vocab, self._names, self._defs, self._base_token = [], {}, {}, ""
                self._added_names, self._added_defs, self._base_vocab = {}, {}, 0
                self._traits = np.zeros(0, dtype=np.uint8)

    def _delta_path(self) -> SealedFile | None:
        return self._path.with_suffix(".delta") if self._path else None

    def _load_delta(self) -> None:
        delta = self._delta_path()
        stored: Any = delta.load() if delta is not None else None
        if stored is None:
            return
        try:
            version, token, vocab_tail, names, defs, traits = stored
        except (TypeError, ValueError):  # not ours: the base alone is still right
            return
        if version != CACHE_VERSION or token != self._base_token:
            return  # made for another base
        self._traits = np.frombuffer(traits, dtype=np.uint8).copy()
        self.vocab.extend(vocab_tail)
        self._names.update(names)
        self._defs.update(defs)
        self._added_names, self._added_defs = dict(names), dict(defs)

    def names(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None) -> dict[str, FileNames]:
        """Names of every source file; with `digests`, cached files are not even read."""
        wanted = [p for p in files if language_of(p)]
        keys = {p: digests[p] if digests is not None else _digest(files[p]) for p in wanted}
        missing = [p for p in sorted(wanted) if keys[p] not in self._names]
        self.parsed = len(missing)
        if missing:
            items = _items(files, missing)
            done = 0
            for vocab, raws in _names_halves(items):
                mapping = np.array(self._ids_of(vocab) or [0], dtype=np.int32)
                for path, (defined, mentioned, counts) in zip(missing[done:done + len(raws)], raws, strict=True):
                    raw = (mapping[np.frombuffer(defined, dtype=np.int32)].tobytes(),
                           mapping[np.frombuffer(mentioned, dtype=np.int32)].tobytes(), counts)
                    self._names[keys[path]] = self._added_names[keys[path]] = raw
                done += len(raws)
            self._dirty = True
        out: dict[str, FileNames] = {}
        for path in wanted:
            defined, mentioned, counts = self._names[keys[path]]
            out[path] = FileNames(np.frombuffer(defined, dtype=np.int32), np.frombuffer(mentioned, dtype=np.int32),
                                  np.frombuffer(counts, dtype=np.int32))
        return out

    def traits(self, ids: np.ndarray) -> np.ndarray:
        """rank.name_traits of vocabulary `ids`, worked out once per name and kept with the vocabulary."""
        if len(self._traits) < len(self.vocab):
            grown = np.full(len(self.vocab), UNKNOWN_TRAITS, dtype=np.uint8)
            grown[:len(self._traits)] = self._traits
            self._traits = grown
        got = self._traits[ids]
        unknown = ids[got == UNKNOWN_TRAITS]
        if len(unknown):
            vocab = self.vocab
            self._traits[unknown] = [name_traits(vocab[i]) for i in unknown.tolist()]
            self._dirty = True
            got = self._traits[ids]
        return got

    def _ids_of(self, names: list[str]) -> list[int]:
        """Vocabulary ids of `names`, new ones appended. A few names (a changed file's) are found in one pass
        over the vocabulary in C, not by first indexing all of its hundreds of thousands of names."""
        if self._ids is not None or len(names) >= FEW_NAMES:
            return [self._id(n) for n in names]
        wanted = set(names)
        vocab = self.vocab
        found = {vocab[i]: i for i in compress(count(), map(wanted.__contains__, vocab))}
        out: list[int] = []
        for name in names:
            known = found.get(name)
            if known is None:
                known = found[name] = len(vocab)
                vocab.append(name)
            out.append(known)
        return out

    def _id(self, name: str) -> int:
        if self._ids is None:
            self._ids = dict(zip(self.vocab, range(len(self.vocab)), strict=True))
        known = self._ids.get(name)
        if known is None:
            known = self._ids[name] = len(self.vocab)
            self.vocab.append(name)
        return known

    def definitions(self, files: Mapping[str, bytes], digests: Mapping[str, str] | None,
                    paths: Iterable[str]) -> dict[str, tuple[Definition, ...]]:
        """Full definitions (tree-sitter) of `paths`, parsed now only where not cached."""
        wanted = [p for p in dict.fromkeys(paths) if language_of(p)]
        keys = {p: digests[p] if digests is not None else _digest(files[p]) for p in wanted}
        missing = [p for p in wanted if keys[p] not in self._defs]
        if missing:
            items = _items(files, missing)
            raws = _defs_batch(items) if len(items) < DEFS_PARALLEL_MIN_FILES else [
                r for half in _halves(_defs_batch, items) for r in half]
            for path, raw in zip(missing, raws, strict=True):
                self._defs[keys[path]] = self._added_defs[keys[path]] = raw
            self.parsed_defs += len(missing)
            self._dirty = True
        return {p: tuple(Definition(*d) for d in self._defs[keys[p]]) for p in wanted}

    def save(self) -> None:
        if not (self._path and self._dirty):
            return
        delta = self._delta_path()
        assert delta is not None
        small = len(self._added_names) + len(self._added_defs) <= DELTA_MAX_ENTRIES
        if self._base_token and small and self._path.exists():
            delta.save( (CACHE_VERSION, self._base_token, self.vocab[self._base_vocab:], self._added_names,
                           self._added_defs, self._traits.tobytes()))
        else:
            self._base_token = uuid.uuid4().hex
            self._path.save((CACHE_VERSION, self._base_token, self.vocab, self._names, self._defs,
                                self._traits.tobytes()))
            delta.unlink()
            self._base_vocab = len(self.vocab)
            self._added_names, self._added_defs = {}, {}
        self._dirty = False


def _items(files: Mapping[str, bytes], paths: list[str]) -> list[Item]:
    """Work items: contents already in memory, else where to read them (workers read for themselves, so
    a monorepo's sources are never all in memory, nor pickled across to the worker)."""
    on_disk = getattr(files, "on_disk", None)
    out: list[Item] = []
    for path in paths:
        where = on_disk(path) if on_disk is not None else None
        out.append((path, where if where is not None else files[path]))
    return out


def _halves(work, items: list[Item]) -> list:  # type: ignore[no-untyped-def]
    """[work(first half), work(second half)], the first in a worker process while this one does the second
    (the machine may have two cores; more workers only fight over them)."""
    half = len(items) // 2
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            first = pool.submit(work, items[:half])
            second = work(items[half:])
            return [first.result(), second]
    except (OSError, RuntimeError):  # no process pool here: do it all in this process
        return [work(items)]
