"""The approval modal: what is approved (the diff, the full command and where it runs, the target), then
approve once, approve always for this command pattern, or deny with a note."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from agent.approval import ApprovalRequest, Decision
from agent.approval_preview import ApprovalPreview
from agent.interactive import command_pattern


class ApprovalScreen(ModalScreen[Decision]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "approve once"), Binding("a", "always", "always"),
        Binding("n", "deny", "deny"), Binding("escape", "deny", "deny", show=False),
        Binding("pageup", "scroll(-1)", "scroll", show=False), Binding("pagedown", "scroll(1)", "scroll", show=False),
        Binding("up", "line(-1)", show=False), Binding("down", "line(1)", show=False)]

    def __init__(self, request: ApprovalRequest, preview: ApprovalPreview | None = None) -> None:
        super().__init__()
        self.request = request
        self.preview = preview or ApprovalPreview(
            "command" if request.command is not None else "text",
            request.command if request.command is not None else request.summary)

    def compose(self) -> ComposeResult:
        pattern = command_pattern(self.request.command) if self.request.command else self.request.tool
        with Vertical(id="approval"):
            yield Label(f"Allow {self.request.tool}?", classes="panel-title")
            with VerticalScroll(id="approval-what"):
                yield Static(self._body(), id="approval-body")
            if self.preview.cwd:
                yield Label(Text(f"in {self.preview.cwd}", style="dim"), id="approval-cwd")
            yield Input(placeholder="optional note to the model (on deny)", id="note")
            with Horizontal(id="approval-buttons"):
                yield Button("Approve (y)", id="approve", variant="success")
                yield Button(f"Always '{pattern}' (a)", id="always", variant="primary")
                yield Button("Deny (n)", id="deny", variant="error")

    def _body(self) -> Text | Syntax:
        if self.preview.kind == "diff":
            return Syntax(self.preview.text.rstrip("\n") or "(no change)", "diff", theme="monokai",
                          word_wrap=True, background_color="default")
        if self.preview.kind == "command":
            return Text(f"$ {self.preview.text}", style="bold")
        return Text(self.preview.text)

    def on_mount(self) -> None:
        self.query_one("#approve", Button).focus()

    def action_scroll(self, pages: int) -> None:
        view = self.query_one("#approval-what", VerticalScroll)
        view.scroll_page_down() if pages > 0 else view.scroll_page_up()

    def action_line(self, lines: int) -> None:
        self.query_one("#approval-what", VerticalScroll).scroll_relative(y=lines, animate=False)

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
