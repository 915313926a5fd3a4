"""What every question the TUI asks (approval, trust) has in common: text shown exactly, hidden characters
made visible, long content said to be long, and the approval mode fixed while the question is open."""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.containers import VerticalScroll
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
    """A modal question: its content scrolls, with "more below" while there is; while it is open the approval
    mode cannot change (Shift+Tab, /approval)."""

    mode: str | None = None
    SCROLL = "#approval-what"  # the scrolled content
    MORE = "#approval-more"  # the label under it that says whether there is more below

    def on_mount(self) -> None:
        view = self.query_one(self.SCROLL, VerticalScroll)
        self.watch(view, "scroll_y", lambda _: self._show_more(), init=False)
        self.watch(view, "max_scroll_y", lambda _: self._show_more(), init=False)
        self.call_after_refresh(self._show_more)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_more)

    def _show_more(self) -> None:
        """Say when there is more below the visible part (a payload past 60 blank lines is not out of sight)."""
        view = self.query_one(self.SCROLL, VerticalScroll)
        label = self.query_one(self.MORE, Label)
        hidden_below = view.max_scroll_y - view.scroll_y
        label.display = view.max_scroll_y > 0
        if hidden_below > 0:
            label.update(Text(f"▼ more below: {line_count(round(hidden_below))} not shown (PgDn/↓ to read on)",
                              style="bold yellow"))
        else:
            label.update(Text("▲ end of the content (PgUp/↑ to read back)", style="dim"))

    def action_scroll(self, pages: int) -> None:
        view = self.query_one(self.SCROLL, VerticalScroll)
        view.scroll_page_down() if pages > 0 else view.scroll_page_up()

    def action_line(self, lines: int) -> None:
        self.query_one(self.SCROLL, VerticalScroll).scroll_relative(y=lines, animate=False)

    def mode_text(self, refused: bool = False) -> Text:
        if refused:
            return Text(f"approval mode stays {self.mode} until this question is answered", style="bold yellow")
        return Text(f"approval mode: {self.mode} (fixed while this question is open)", style="dim")

    def refuse_mode_change(self) -> None:
        """Shift+Tab or /approval while the question is open: nothing changes, and the question says so."""
        self.app.bell()
        for label in self.query("#question-mode").results(Label):
            label.update(self.mode_text(refused=True))
