"""RE2 (google-re2) for the searches redaction makes over whole packed repositories.

Its automaton finds any of many alternatives in one linear pass, where Python's `re` tries each alternative at
every position and `str.find` needs a pass per literal. Only ever a pre-filter: where RE2 cannot answer (no
wheel, a pattern over its memory budget, a text it cannot encode) the callers run their exact pure-Python path,
and the result is the same either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

MAX_MEM = 64 << 20  # per compiled program (RE2's default, 8 MB, refuses a few thousand secret values)
LITERALS_PER_PROGRAM = 500


@functools.cache
def _re2() -> Any:
    try:
        import re2  # type: ignore[import-untyped]
    except ImportError:
        return None
    return re2


def _compile(pattern: str) -> Any:
    """`pattern` compiled by RE2, or None (no RE2, or the pattern is beyond its budget)."""
    re2 = _re2()
    if re2 is None:
        return None
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.log_errors = False  # RE2 would otherwise write to stderr, under the TUI
    try:
        return re2.compile(pattern, options)
    except re2.error:
        return None


def finder(pattern: str) -> Callable[[str], list[int] | None] | None:
    """The start offsets (in characters) of `pattern`'s matches in a text: None for a text RE2 cannot read (a
    lone surrogate: RE2 reads UTF-8), and no finder at all without RE2."""
    compiled = _compile(pattern)
    if compiled is None:
        return None

    def find(text: str) -> list[int] | None:
        try:
            return [match.start() for match in compiled.finditer(text)]
        except UnicodeEncodeError:
            return None

    return find


def any_of(literals: Iterable[str]) -> Callable[[str], bool] | None:
    """Might a text hold any of `literals`? (True also when RE2 cannot tell.) None without RE2, with nothing to
    look for, or when the literals are beyond RE2's budget."""
    literals = list(literals)
    if not literals:
        return None
    re2 = _re2()
    if re2 is None or any(not _encodable(lit) for lit in literals):  # RE2 reads UTF-8 only
        return None
    programs = []
    for start in range(0, len(literals), LITERALS_PER_PROGRAM):
        compiled = _compile("|".join(re2.escape(lit) for lit in literals[start:start + LITERALS_PER_PROGRAM]))
        if compiled is None:
            return None
        programs.append(compiled.search)

    def holds(text: str) -> bool:
        try:
            return any(search(text) is not None for search in programs)
        except UnicodeEncodeError:
            return True  # the exact loop decides

    return holds


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
