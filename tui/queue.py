"""Input typed while the agent works: kept in order, shown, and sent when the turn ends (Esc takes one back)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class QueuedInput(Static):
    """Attributes down: the app owns the queue and hands it here to show."""

    def show(self, items: list[str]) -> None:
        self.display = bool(items)
        text = Text()
        for item in items:
            first = item.splitlines()[0] if item.strip() else item
            text.append("queued ", style="bold")
            text.append(first[:200] + (" …" if len(first) > 200 or "\n" in item else "") + "\n")
        text.append("sent when the turn ends · Esc takes the last one back", style="dim")
        self.update(text)
