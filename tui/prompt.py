"""The input area: multi-line, Enter sends, history on ↑/↓, Tab completes /commands and @paths."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from tui.commands import COMMANDS, complete

AT_TOKEN = re.compile(r"@([\w./-]*)$")


class PromptInput(TextArea):
    """A TextArea where Enter submits; Ctrl+J inserts a new line."""

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Hint(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Scroll(Message):
        """PageUp/PageDown: scroll the conversation by a page without leaving the input."""

        def __init__(self, pages: int) -> None:
            super().__init__()
            self.pages = pages

    class TakeBack(Message):
        """Esc: take the last queued input back into the input area."""

    def __init__(self, paths: Callable[[], list[str] | None], **kwargs: object) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, **kwargs)  # type: ignore[arg-type]
        self._paths = paths
        self.sent: list[str] = []
        self._cursor: int | None = None
        self._waiting = False

    def on_mount(self) -> None:
        # A blinking cursor makes headless screenshots (tests, snapshots) depend on timing.
        self.cursor_blink = not self.app.is_headless

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.sent.append(text)
                self._cursor = None
                self.post_message(self.Submitted(text))
                self.clear()
            return
        if event.key == "ctrl+j":
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key in ("pageup", "pagedown"):
            event.stop()
            event.prevent_default()
            self.post_message(self.Scroll(-1 if event.key == "pageup" else 1))
            return
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self.post_message(self.TakeBack())
            return
        if event.key == "tab":
            event.stop()
            event.prevent_default()
            self._complete()
            return
        if event.key in ("up", "down") and self._browse(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def _browse(self, key: str) -> bool:
        """History on ↑ from the first line and ↓ from the last; otherwise the cursor moves as usual."""
        row = self.cursor_location[0]
        if not self.sent or (key == "up" and row > 0) or (key == "down" and row < self.document.line_count - 1):
            return False
        if key == "up":
            self._cursor = len(self.sent) - 1 if self._cursor is None else max(0, self._cursor - 1)
        elif self._cursor is None:
            return False
        else:
            self._cursor += 1
            if self._cursor >= len(self.sent):
                self._cursor = None
                self.clear()
                return True
        self.load_text(self.sent[self._cursor])
        self.move_cursor(self.document.end)
        return True

    def complete_again(self) -> None:
        """The `@path` index is ready: finish the completion asked for while it was built."""
        if self._waiting:
            self._waiting = False
            self._complete()

    def _complete(self) -> None:
        text = self.text
        if text.startswith("/") and " " not in text:
            options = complete(text, list(COMMANDS))
        else:
            match = AT_TOKEN.search(text)
            if not match:
                return
            stem = match.group(1)
            paths = self._paths()
            if paths is None:  # the index is being built off the UI loop; completes when it is ready
                self._waiting = True
                self.post_message(self.Hint("indexing the workspace's files…"))
                return
            options = ["@" + p for p in complete(stem, paths)]
            text = text[: match.start()]
        if not options:
            self.post_message(self.Hint("no completion"))
            return
        common = _common_prefix(options)
        base = text if not text.startswith("/") or " " in text else ""
        new = (base + common) if len(options) > 1 else (base + options[0] + " ")
        self.load_text(new)
        self.move_cursor(self.document.end)
        if len(options) > 1:
            self.post_message(self.Hint("  ".join(options[:12]) + (" …" if len(options) > 12 else "")))


def _common_prefix(options: list[str]) -> str:
    first, last = min(options), max(options)
    i = 0
    while i < len(first) and i < len(last) and first[i] == last[i]:
        i += 1
    return first[:i]
