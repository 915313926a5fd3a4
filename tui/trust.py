"""The one-time question about an untrusted project config: trust it as it is now, or not."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from tui.question import QuestionScreen, shown


class TrustScreen(QuestionScreen[bool]):
    """Shows what the project's config tried to set; dismisses with True when the user trusts it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "trust", "trust"), Binding("n", "later", "not now"),
        Binding("escape", "later", "not now", show=False),
        Binding("pageup", "scroll(-1)", "scroll", show=False), Binding("pagedown", "scroll(1)", "scroll", show=False),
        Binding("up", "line(-1)", show=False), Binding("down", "line(1)", show=False)]
    SCROLL = "#trust-scroll"
    MORE = "#trust-more"

    def __init__(self, question: str, mode: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.mode = mode

    def compose(self) -> ComposeResult:
        with Vertical(id="approval"):
            yield Label("Trust this project's configuration?", classes="panel-title")
            if self.mode is not None:
                yield Label(self.mode_text(), id="question-mode")
            with VerticalScroll(id="trust-scroll"):
                yield Static(shown(self.question), id="trust-what")
            yield Label("", id="trust-more")
            with Horizontal(id="approval-buttons"):
                yield Button("Trust (t)", id="trust", variant="warning")
                yield Button("Not now (n)", id="later", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#later", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust")

    def action_trust(self) -> None:
        self.dismiss(True)

    def action_later(self) -> None:
        self.dismiss(False)
