"""The approval modal: what is approved (the diff, the full command and where it runs, the target), shown
exactly (hidden characters as marked escapes, long content counted, "more below" while there is), then approve
once, approve always by a rule whose button says what it matches, or deny with a note."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from agent.approval import ApprovalRequest, Decision
from agent.approval_preview import ApprovalPreview
from agent.approval_rules import AlwaysRule, offered_rules
from agent.terminal_text import fold_blank_runs, hidden_count, reveal
from tui.question import QuestionScreen, line_count, shown

LABEL_CHARS = 48  # a longer command is named "the command above" on its button
KEYS_HINT = Text("Tab: next answer, then the note · ↑↓ PgUp PgDn: scroll · Esc: deny", style="dim")


def button_label(rule: AlwaysRule, key: str) -> Text:
    """The button's words: exactly what `rule` will match (a long or hidden-character command by reference)."""
    if rule.command is not None and (len(rule.command) > LABEL_CHARS or hidden_count(rule.command)
                                     or "\n" in rule.command):
        return Text(f"Always allow exactly the command above ({key})")
    label = rule.label
    return shown(label[0].upper() + label[1:] + f" ({key})")


class ApprovalScreen(QuestionScreen[Decision]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "approve once"), Binding("a", "always(0)", "always (exact)"),
        Binding("p", "always(1)", "always (any arguments)", show=False),
        Binding("n", "deny", "deny"), Binding("escape", "deny", "deny", show=False),
        Binding("pageup", "scroll(-1)", "scroll", show=False), Binding("pagedown", "scroll(1)", "scroll", show=False),
        Binding("up", "line(-1)", show=False), Binding("down", "line(1)", show=False)]

    def __init__(self, request: ApprovalRequest, preview: ApprovalPreview | None = None,
                 mode: str | None = None) -> None:
        super().__init__()
        self.request = request
        self.preview = preview or request.preview or ApprovalPreview(
            "command" if request.command is not None else "text",
            request.command if request.command is not None else request.summary)
        self.mode = mode
        self.rules = offered_rules(request)

    def compose(self) -> ComposeResult:
        # Docked above and below, the title and the answers stay on screen at any height; what is between (the
        # diff, the command) gets the rest and scrolls.
        with Vertical(id="approval"):
            with Vertical(id="approval-head"):
                yield Label(shown(f"Allow {self.request.tool}?"), classes="panel-title")
                if self.mode is not None:
                    yield Label(self.mode_text(), id="question-mode")
                yield Label(self._stats(), id="approval-stats")
                if self.preview.cwd:
                    yield Label(shown(f"in {self.preview.cwd}", style="dim"), id="approval-cwd")
            with Vertical(id="approval-answers"):
                yield Label("", id="approval-more")
                with Horizontal(id="approval-buttons"):  # Tab from Approve: Deny, then the note
                    yield Button("Approve once (y)", id="approve", variant="success", compact=True)
                    yield Button("Deny (n)", id="deny", variant="error", compact=True)
                    yield Input(placeholder="note to the model, on deny", id="note", compact=True)
                with Vertical(id="approval-always"):
                    for index, rule in enumerate(self.rules):
                        yield Button(button_label(rule, "ap"[index]), id=f"always-{index}", variant="primary",
                                     compact=True)
                yield Label(KEYS_HINT, id="approval-keys")
            view = VerticalScroll(id="approval-what")
            view.can_focus = False  # scrolled by its keys from anywhere; Tab goes from answer to answer
            with view:
                yield Static(self._body(), id="approval-body")

    def _folded(self) -> tuple[str, int]:
        return fold_blank_runs(self.preview.text, diff=self.preview.kind == "diff")

    def _stats(self) -> Text:
        text = self.preview.text
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        _, folded = self._folded()
        words = f"{self.preview.kind}: {line_count(lines)}"
        if folded:
            words += f" ({folded} blank lines folded)"
        out = Text(words, style="dim")
        hidden = hidden_count(text)
        if hidden:
            what = "hidden or control character" + ("" if hidden == 1 else "s")
            out.append(f"  ⚠ {hidden} {what}, shown as marked escapes (\\x1b, \\u202e)",
                       style="bold yellow")
        return out

    def _body(self) -> Text | Syntax:
        text, _ = self._folded()
        if self.preview.kind == "diff":
            return Syntax(reveal(text).rstrip("\n") or "(no change)", "diff", theme="monokai",
                          word_wrap=True, background_color="default")
        if self.preview.kind == "command":
            return Text("$ ", style="bold") + shown(text, style="bold")
        return shown(text)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#approve", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        name = event.button.id or "deny"
        if name.startswith("always-"):
            self.action_always(int(name.removeprefix("always-")))
            return
        {"approve": self.action_approve, "deny": self.action_deny}[name]()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_deny()

    def action_approve(self) -> None:
        self.dismiss(Decision(True, "approved by the user"))

    def action_always(self, index: int = 0) -> None:
        if index >= len(self.rules):
            return  # no such rule for this request (`p` on a compound command): nothing happens
        rule = self.rules[index]
        self.dismiss(Decision(True, f"approved by the user: {rule.label}", always=rule))

    def action_deny(self) -> None:
        self.dismiss(Decision(False, self.query_one("#note", Input).value.strip()))
