"""The approval modal: approve once, approve always for this command pattern, or deny with a note."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from agent.approval import ApprovalRequest, Decision
from agent.interactive import command_pattern


class ApprovalScreen(ModalScreen[Decision]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "approve", "approve once"), Binding("a", "always", "always"),
                Binding("n", "deny", "deny"), Binding("escape", "deny", "deny", show=False)]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        what = self.request.command if self.request.command is not None else self.request.summary
        pattern = command_pattern(self.request.command) if self.request.command else self.request.tool
        with Vertical(id="approval"):
            yield Label(f"Allow {self.request.tool}?", classes="panel-title")
            yield Static(what, id="approval-what")
            yield Input(placeholder="optional note to the model (on deny)", id="note")
            with Horizontal(id="approval-buttons"):
                yield Button("Approve (y)", id="approve", variant="success")
                yield Button(f"Always '{pattern}' (a)", id="always", variant="primary")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_mount(self) -> None:
        self.query_one("#approve", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"approve": self.action_approve, "always": self.action_always, "deny": self.action_deny}[
            event.button.id or "deny"]()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_deny()

    def action_approve(self) -> None:
        self.dismiss(Decision(True, "approved by the user"))

    def action_always(self) -> None:
        self.dismiss(Decision(True, "approved always for this pattern", always=True))

    def action_deny(self) -> None:
        self.dismiss(Decision(False, self.query_one("#note", Input).value.strip()))
