"""RE2 (google-re2) for the searches redaction makes over whole packed repositories.

Its automaton finds any of many alternatives in one linear pass, where Python's `re` tries each alternative at
every position and `str.find` needs a pass per literal. Only ever a pre-filter: where the wheel is missing the
callers run their exact (slower) pure-Python path, and the result is the same either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any


@functools.cache
def _re2() -> Any:
    try:
        import re2  # type: ignore[import-untyped]
    except ImportError:
        return None
    return re2


def finder(pattern: str) -> Callable[[str], Iterator[int]] | None:
    """The start offsets (in characters) of `pattern`'s matches in a text, or None without RE2."""
    re2 = _re2()
    if re2 is None:
        return None
    finditer = re2.compile(pattern).finditer
    return lambda text: (match.start() for match in finditer(text))


def any_of(literals: Iterable[str]) -> Callable[[str], bool] | None:
    """Does a text hold any of `literals`? None without RE2 (or with nothing to look for)."""
    re2, literals = _re2(), list(literals)
    if re2 is None or not literals:
        return None
    search = re2.compile("|".join(re2.escape(literal) for literal in literals)).search
    return lambda text: search(text) is not None
