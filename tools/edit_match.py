"""Where edit_file's old_string is in a file: every match at the strictest level that has any.

Levels: exact text; the same with typographic quotes and dashes read as ASCII (straight and curly quotes
match alike); then whole lines compared ignoring trailing whitespace, surrounding whitespace, and both
with punctuation normalised (tools.matching). Counting every match at a level is what lets a loose match
be reported as ambiguous rather than as missing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tools.matching import LEVELS, normalise_punctuation


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    line: int


def _all_substrings(text: str, old: str) -> list[int]:
    starts, at = [], text.find(old)
    while at >= 0:
        starts.append(at)
        at = text.find(old, at + len(old))
    return starts


def find_matches(text: str, old: str) -> tuple[str, list[Match]]:
    """(level name, matches) for the strictest level at which `old` is found; ("", []) if none."""
    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for name, haystack, needle in (("exact", text, old),
                                   ("treating typographic quotes and dashes as ASCII",
                                    normalise_punctuation(text), normalise_punctuation(old))):
        starts = _all_substrings(haystack, needle)
        if starts:  # one-for-one normalisation: offsets are the original text's
            return name, [Match(s, s + len(old), line_of(s)) for s in starts]
    lines = text.split("\n")
    want = old.strip("\n").split("\n")
    if not any(w.strip() for w in want):
        return "", []
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for name, norm in LEVELS[1:]:
        target = [norm(w) for w in want]
        hits = [i for i in range(len(lines) - len(want) + 1)
                if all(norm(lines[i + k]) == target[k] for k in range(len(want)))]
        if hits:
            spans = []
            for i in hits:
                end = offsets[i + len(want)] - 1  # the end of the last line, before its break
                if old.endswith("\n") and end < len(text):
                    end += 1
                spans.append(Match(offsets[i], end, i + 1))
            return name, spans
    return "", []


def reindent(new: str, old: str, matched: str) -> str:
    """Shift `new` by the indentation the model got wrong in `old` (first non-blank line decides)."""
    def indent(s: str) -> str:
        first = next((line for line in s.splitlines() if line.strip()), "")
        return first[: len(first) - len(first.lstrip())]

    have, want = indent(old), indent(matched)
    if have == want:
        return new
    out = []
    for line in new.splitlines(keepends=True):
        out.append(want + line[len(have):] if line.startswith(have) and line.strip() else line)
    return "".join(out)


def closest_region(text: str, old: str, context: int = 2) -> str:
    """The numbered lines of `text` that look most like `old`, to help the model retry."""
    lines = text.splitlines()
    want = old.strip("\n").splitlines() or [old]
    size = len(want)
    best, best_at = 0.0, 0
    joined = "\n".join(want)
    for i in range(max(1, len(lines) - size + 1)):
        ratio = difflib.SequenceMatcher(None, "\n".join(lines[i:i + size]), joined, autojunk=False).quick_ratio()
        if ratio > best:
            best, best_at = ratio, i
    lo, hi = max(0, best_at - context), min(len(lines), best_at + size + context)
    return "\n".join(f"{n + 1:6}\t{lines[n]}" for n in range(lo, hi))


def curl_quotes(new: str, matched: str) -> str:
    """`new` with straight quotes made typographic when the file's matched text uses curly ones, so an edit
    found by treating quotes alike keeps the file's style (apostrophes inside words become ’)."""
    curly_double = "\u201c" in matched or "\u201d" in matched
    curly_single = "\u2018" in matched or "\u2019" in matched
    if not (curly_double or curly_single):
        return new
    out: list[str] = []
    for i, ch in enumerate(new):
        before = new[i - 1] if i else " "
        after = new[i + 1] if i + 1 < len(new) else " "
        opening = before.isspace() or before in "([{\u2014-"
        if ch == '"' and curly_double:
            out.append("\u201c" if opening else "\u201d")
        elif ch == "'" and curly_single:
            out.append("\u2019" if before.isalnum() and (after.isalnum() or not opening) else
                       "\u2018" if opening else "\u2019")
        else:
            out.append(ch)
    return "".join(out)
