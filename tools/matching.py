"""Finding lines the model quoted in a file, from strict to forgiving (the ladder Codex uses).

Each level is tried over the whole file before the next: exact, then ignoring trailing whitespace, then
ignoring surrounding whitespace, then also treating typographic dashes, quotes and spaces as their ASCII
forms. `normalise_punctuation` keeps every character in place (one character in, one out), so positions
found in normalised text are positions in the original.
"""

from __future__ import annotations

from collections.abc import Callable

_ASCII = str.maketrans({
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
    **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
})


def normalise_punctuation(text: str) -> str:
    """Typographic dashes, quotes and spaces as ASCII, one character for one."""
    return text.translate(_ASCII)


LEVELS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("exact", lambda s: s),
    ("ignoring trailing whitespace", str.rstrip),
    ("ignoring surrounding whitespace", str.strip),
    ("ignoring whitespace and typographic punctuation", lambda s: normalise_punctuation(s.strip())),
)


def find_lines(lines: list[str], want: list[str], start: int = 0, *, at_end: bool = False) -> int | None:
    """Index of the first run of `lines` at or after `start` equal to `want`, at the strictest level that
    finds one; with `at_end`, only a run that ends the file counts. None if no level finds it."""
    if not want:
        return start
    if len(want) > len(lines):
        return None
    first = len(lines) - len(want) if at_end else start
    for _name, norm in LEVELS:
        target = [norm(w) for w in want]
        for i in range(first, len(lines) - len(want) + 1):
            if all(norm(lines[i + k]) == target[k] for k in range(len(want))):
                return i
    return None


def all_line_matches(lines: list[str], want: list[str]) -> tuple[str, list[int]]:
    """Every start of `want` in `lines` at the strictest level with any match: (level name, starts)."""
    for name, norm in LEVELS:
        target = [norm(w) for w in want]
        hits = [i for i in range(len(lines) - len(want) + 1)
                if all(norm(lines[i + k]) == target[k] for k in range(len(want)))]
        if hits:
            return name, hits
    return "", []
