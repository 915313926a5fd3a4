"""The one-time question about an untrusted project config: trust it as it is now, or not."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class TrustScreen(ModalScreen[bool]):
    """Shows what the project's config tried to set; dismisses with True when the user trusts it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("t", "trust", "trust"), Binding("n", "later", "not now"),
                                             Binding("escape", "later", "not now", show=False)]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="approval"):
            yield Label("Trust this project's configuration?", classes="panel-title")
            yield Static(self.question, id="trust-what", markup=False)
            with Horizontal(id="approval-buttons"):
                yield Button("Trust (t)", id="trust", variant="warning")
                yield Button("Not now (n)", id="later", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#later", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust")

    def action_trust(self) -> None:
        self.dismiss(True)

    def action_later(self) -> None:
        self.dismiss(False)
