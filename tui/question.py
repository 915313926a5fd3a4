"""What every question the TUI asks (approval, trust) has in common: text shown exactly, hidden characters
made visible, long content said to be long, and the approval mode fixed while the question is open."""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.screen import ModalScreen
from textual.widgets import Label

from agent.terminal_text import revealed

ESCAPE_STYLE = "bold reverse red"
T = TypeVar("T")


def shown(text: str, style: str = "") -> Text:
    """`text` as a Rich Text that cannot drive the terminal or hide a part of itself: each control, bidi,
    zero-width or other invisible character is an escape (`\\x1b`, `\\u202e`) in a marked style."""
    out = Text(style=style)
    for piece, escape in revealed(text):
        out.append(piece, style=ESCAPE_STYLE if escape else "")
    return out


def line_count(n: int) -> str:
    return f"{n} line" + ("" if n == 1 else "s")


class QuestionScreen(ModalScreen[T]):
    """A modal question. While it is open the approval mode cannot change (Shift+Tab, /approval)."""

    mode: str | None = None

    def mode_text(self, refused: bool = False) -> Text:
        if refused:
            return Text(f"approval mode stays {self.mode} until this question is answered", style="bold yellow")
        return Text(f"approval mode: {self.mode} (fixed while this question is open)", style="dim")

    def refuse_mode_change(self) -> None:
        """Shift+Tab or /approval while the question is open: nothing changes, and the question says so."""
        self.app.bell()
        for label in self.query("#question-mode").results(Label):
            label.update(self.mode_text(refused=True))
