"""Neutralising terminal control sequences in text that came from a model or a tool, before a renderer shows
it: an escape sequence could move the cursor, rewrite the screen, set the window title or hide text. Each
control character becomes visible caret notation (`ESC` → `^[`); Duet's own colours are applied by the
renderer afterwards, so they are kept."""

from __future__ import annotations

import re
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
