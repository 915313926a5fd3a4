"""`/resume` with no id: the workspace's sessions, newest first (id, started, task, spend, outcome); Enter resumes
the one chosen, Esc leaves the session as it is."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from agent.cli.sessions import SessionLine
from tui.question import shown

TASK_CHARS = 40


def row(line: SessionLine) -> Text:
    """One session as one line of the picker (its text shown exactly: a task cannot drive the terminal)."""
    task = line.task or ("(interactive)" if line.command == "tui" else "")
    task = task if len(task) <= TASK_CHARS else task[:TASK_CHARS - 1] + "…"
    started = line.started.replace("T", " ")[:16] if line.started else "?"
    return shown(f"{line.id}  {started}  ${Decimal(line.spend_usd):.4f}  {line.outcome or 'unfinished':10}  {task}")


class SessionPicker(ModalScreen[str | None]):
    """Choose a past session; dismissed with its id, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, lines: list[SessionLine]) -> None:
        super().__init__()
        self.lines = list(reversed(lines))  # `session_lines` is oldest first (by last write): newest on top

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label("Resume which session? (Enter resumes, Esc cancels)", id="picker-title")
            yield OptionList(*[Option(row(line), id=line.id) for line in self.lines], id="picker-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
