"""Neutralising terminal control sequences in text that came from a model or a tool, before a renderer shows
it: an escape sequence could move the cursor, rewrite the screen, set the window title or hide text. Each
control character becomes visible caret notation (`ESC` → `^[`); Duet's own colours are applied by the
renderer afterwards, so they are kept."""

from __future__ import annotations

import re
import unicodedata
from typing import TypeVar

from pydantic import BaseModel

from agent.events import map_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_E = TypeVar("_E", bound=BaseModel)


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return "^?" if code == 0x7F else f"<{code:#04x}>"


def neutralise(text: str) -> str:
    """`text` with line ends normalised and every other control character made visible and harmless."""
    if not _CONTROL.search(text):
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(_caret, text)


def safe_event(event: _E) -> _E:
    """`event` with every text field neutralised (the same object when there was nothing to neutralise)."""
    return map_text(event, neutralise)


def _hidden(ch: str) -> bool:
    """A character a person would not see as itself: controls (but line ends and tabs), bidi overrides and
    isolates, zero-width and other format characters, line and paragraph separators, spaces other than ' '."""
    if ch in "\n\t":
        return False
    category = unicodedata.category(ch)
    return category in ("Cc", "Cf", "Zl", "Zp") or (category == "Zs" and ch != " ")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def revealed(text: str) -> list[tuple[str, bool]]:
    """`text` as pieces, each (piece, is_escape): every hidden character becomes a visible escape (`\\x1b`,
    `\\u202e`) in a piece of its own, so a modal can show exactly what would run and mark what was hidden."""
    pieces: list[tuple[str, bool]] = []
    start = 0
    for i, ch in enumerate(text):
        if _hidden(ch):
            if start < i:
                pieces.append((text[start:i], False))
            pieces.append((_escape(ch), True))
            start = i + 1
    if start < len(text):
        pieces.append((text[start:], False))
    return pieces


def reveal(text: str) -> str:
    """`text` with every hidden character shown as an escape (see `revealed`)."""
    return "".join(piece for piece, _ in revealed(text))


def hidden_count(text: str) -> int:
    return sum(1 for ch in text if _hidden(ch))


def fold_blank_runs(text: str, *, diff: bool = False, longest: int = 2) -> tuple[str, int]:
    """`text` with each run of more than `longest` blank lines folded into one line that says how many there
    were, and the number of lines folded away. In a diff, a line is blank when all but its first column is."""
    out: list[str] = []
    run: list[str] = []
    folded = 0

    def flush() -> None:
        nonlocal folded
        if len(run) > longest:
            mark = run[0][:1] if diff else ""
            out.append(f"{mark}··· {len(run)} blank lines ···")
            folded += len(run) - 1
        else:
            out.extend(run)
        run.clear()

    for line in text.split("\n"):
        body = line[1:] if diff and line[:1] in ("+", "-", " ") else line
        if not body.strip() and (not run or run[0][:1] == line[:1] or not diff):
            run.append(line)
            continue
        flush()
        if not body.strip():
            run.append(line)
        else:
            out.append(line)
    flush()
    return "\n".join(out), folded
