"""The conversation view: user messages, streamed answers, collapsed reasoning, expandable tool calls."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable

from rich.markdown import Markdown as RichMarkdown
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.timer import Timer
from textual.widgets import Collapsible, Static

from agent.events import (
    ApprovalDecided,
    AssistantMessageEvent,
    Compacted,
    Event,
    ItemCompleted,
    MessageDelta,
    Notice,
    SessionStarted,
    StepRouted,
    StreamReset,
    TestsRan,
    TurnFailed,
    UserMessageEvent,
)
from agent.terminal_text import reveal, safe_event
from agent.views.tools import ToolRow, ToolRows

MAX_SHOWN_OUTPUT = 6_000
# A long answer is streamed into several parts, cut at paragraph breaks outside code fences: each redraw then
# renders a small document, so a fast stream never falls behind as the answer grows.
SPLIT_AFTER_CHARS = 600
REFRESH_S = 0.04  # the streaming answer's redraw interval: ~25 frames a second


def split_point(current: str, fragment: str) -> int | None:
    """Where in `fragment` to start a new Markdown block, if `current` has grown long enough."""
    if len(current) + len(fragment) < SPLIT_AFTER_CHARS:
        return None
    text = current + fragment
    start = max(len(current) - 1, 0)
    while (at := text.find("\n\n", start)) != -1:
        cut = at + 2
        if text[:cut].count("```") % 2 == 0 and cut > len(current):
            return cut - len(current)
        start = at + 1
    return None


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tool_title(name: str, arguments: str) -> str:
    try:
        args = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return f"{name} (unreadable arguments)"
    main = next((str(args[k]) for k in ("command", "path", "pattern", "name", "target", "glob") if k in args), "")
    # Decoded from JSON, so `\u001b` is a real escape again: shown, never sent to the terminal; and a title is
    # markup to Textual, so `[#000 on #000]` would hide the rest of a command: escaped.
    return escape(f"{name} {_short(reveal(main))}".strip())


def row_title(row: ToolRow) -> str:
    """A tool row's one-line title: the tool and its main argument (the command line, for a command)."""
    if row.command and not row.arguments:
        return escape(f"{row.tool or 'command'} {_short(reveal(row.command))}".strip())
    return tool_title(row.tool, row.arguments)


def row_detail(row: ToolRow) -> str:
    """What follows the title once the call ended: a command's exit code and time, a search's hits. A command
    that never reported its end (interrupted, closed on resume) shows neither: it has no exit code."""
    if row.unfinished:
        return " · did not finish"
    if row.kind == "command_execution" and row.exit_code is not None:
        return f" · exit {row.exit_code}" + (f" · {row.duration_s:.1f}s" if row.duration_s is not None else "")
    if row.hits is not None:
        return f" · {row.hits} hits"
    return ""


class ToolItem(Collapsible):
    """One tool call: a one-line title that expands to its output or diff (drawn from a `ToolRow`)."""

    def __init__(self, row: ToolRow) -> None:
        self.call_id = row.id
        self.tool = row.tool
        self.body = Static("running…", classes="tool-body")
        self.diffs: list[str] = []
        self._base_title = row_title(row)
        self._started_at = row.started_at
        self._ticker: Timer | None = None
        super().__init__(self.body, title=f"… {self._base_title}", collapsed=True, classes="tool")

    def on_mount(self) -> None:
        if self.title.startswith("…"):  # still running: say for how long, every second
            self._ticker = self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        elapsed = max(time.time() - self._started_at, 0.0)
        self.title = f"… {self._base_title} · {elapsed:.0f}s"

    def show(self, row: ToolRow) -> None:
        self.diffs = list(row.diffs)
        if not row.finished:
            return
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        mark = "✓" if row.ok else "✗"
        self.title = f"{mark} {self._base_title}{row_detail(row)}"
        self.set_class(not row.ok, "failed")
        if self.diffs:
            self.body.update(Syntax("".join(self.diffs), "diff", theme="ansi_dark", word_wrap=True))
        else:
            output = row.output
            text = output if len(output) <= MAX_SHOWN_OUTPUT else (
                output[:MAX_SHOWN_OUTPUT // 2] + "\n…\n" + output[-MAX_SHOWN_OUTPUT // 2:])
            self.body.update(Text(text))


class AnswerBlock(Static):
    """A piece of an answer: one widget rendering Markdown with Rich, cheap to lay out however long the
    conversation grows. While `live` (streaming) it is redrawn at most every REFRESH_S, so tokens arriving faster
    than the screen can draw are batched and typing stays responsive; a part is kept short (SPLIT_AFTER_CHARS)
    because each redraw costs time in proportion to its length. Settling it only stops the redraws: nothing is
    mounted or removed, so the layout does not move."""

    def __init__(self, source: str = "", *, live: bool = False) -> None:
        super().__init__(RichMarkdown(source, code_theme="monokai") if source else "", classes="assistant")
        self.markdown_source = source  # the text on screen
        self.text = source
        self.live = live
        self._timer: Timer | None = None

    async def write(self, fragment: str) -> None:
        self.text += fragment
        if self._timer is None:
            self._timer = self.set_timer(REFRESH_S, self._redraw)

    def _redraw(self) -> None:
        self._timer = None
        if self.markdown_source != self.text:
            self.markdown_source = self.text
            self.update(RichMarkdown(self.text, code_theme="monokai"))

    async def close_stream(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._redraw()
        self.live = False


class ConversationView(VerticalScroll):
    """Applies events to the view. Replaying a stored transcript rebuilds the same view."""

    settled: Callable[[], None] | None = None
    """Called each time a streamed part of an answer settles (the app uses it to time garbage collection)."""

    def on_mount(self) -> None:
        self.anchor()
        self._answer: AnswerBlock | None = None
        self._settled: list[str] = []  # text of the current answer's finished parts
        self._reasoning: Static | None = None
        self._reasoning_text = ""
        self._rows = ToolRows()
        self._tools: dict[str, ToolItem] = {}
        # While the loop emits both shapes (an answer as `assistant.message` and as an `agent_message` item, a
        # notice as `notice` and as a notice item), each text is shown once: by whichever source said it first.
        self._said: dict[str, Counter[str]] = {"message": Counter(), "item": Counter()}

    async def add_line(self, text: str, classes: str = "note") -> None:
        if not self.is_attached:  # the app is closing (/quit during a turn): the transcript keeps what happened
            return
        await self.mount(Static(Text(text), classes=classes))

    async def apply(self, event: Event) -> None:
        event = safe_event(event)  # model and tool text never drives the terminal
        if isinstance(event, UserMessageEvent | SessionStarted):
            await self.settle_unfinished()
        if isinstance(event, UserMessageEvent):
            self._answer = None
            shown = event.content + "".join(f"\n[image] {d[:120]}" for d in event.images)
            await self.mount(Static(Text(shown), classes="user"))
        elif isinstance(event, MessageDelta):
            await self._delta(event)
        elif isinstance(event, StreamReset):
            await self._discard_partial_answer()
            await self.add_line("stream cut; retrying the turn", "warning")
        elif isinstance(event, AssistantMessageEvent):
            await self._answered(self._once("message", event.message.reasoning),
                                 self._once("message", event.message.content))
        elif isinstance(event, ItemCompleted) and event.item.kind == "agent_message":
            await self._answered("", self._once("item", event.item.text))
        elif isinstance(event, ItemCompleted) and event.item.kind == "reasoning":
            text = self._once("item", event.item.text)
            if text and self._reasoning is None:  # reasoning comes before its answer: the answer's state stays
                await self._start_reasoning(text)
        elif isinstance(event, ItemCompleted) and event.item.kind == "notice":
            if self._once("item", event.item.text):
                await self.add_line(event.item.text, "note")
        elif (row := self._rows.apply(event)) is not None:
            await self._show_row(row)
            if isinstance(event, ApprovalDecided):
                await self.add_line(f"refused {event.name}: {event.reason}", "warning")
        elif isinstance(event, ApprovalDecided) and not event.approved:
            await self.add_line(f"refused {event.name}: {event.reason}", "warning")
        elif isinstance(event, TestsRan):
            await self.add_line(f"tests: {event.command} → {event.summary}", "ok" if event.passed else "warning")
        elif isinstance(event, StepRouted):
            await self.add_line(f"{event.kind}: {event.model} — {event.reason}", "route")
        elif isinstance(event, Compacted):
            folded = f"; {event.folded_calls} tool calls of this task folded, the task kept" \
                if event.kept_before else ""
            await self.add_line(f"compacted {event.messages_before} messages into a summary "
                                f"({event.messages_after} now{folded})", "route")
        elif isinstance(event, Notice):
            if self._once("message", event.message):
                await self.add_line(event.message, "warning" if event.level != "info" else "note")
        elif isinstance(event, TurnFailed):
            await self.add_line(f"turn failed: {event.error}", "error")
        elif isinstance(event, SessionStarted) and event.resumed:
            await self.add_line(f"resumed session {event.session_id}", "route")

    async def settle_unfinished(self) -> None:
        """Calls that can no longer end (the stream moved on, or a replayed transcript stopped mid-call) are shown
        as never finished, not as running forever."""
        for row in self._rows.settle():
            await self._show_row(row)

    def _once(self, source: str, text: str) -> str:
        """`text` if it is new, "" if it is the other source's twin of a text already shown."""
        if not text:
            return ""
        other = self._said["item" if source == "message" else "message"]
        mine = self._said[source]
        mine[text] += 1
        return "" if other[text] >= mine[text] else text

    async def _answered(self, reasoning: str, content: str) -> None:
        if reasoning and self._reasoning is None:
            await self._start_reasoning(reasoning)
        if content:
            await self._finish_answer(content)
        self._settled = []
        self._answer, self._reasoning, self._reasoning_text = None, None, ""

    async def _show_row(self, row: ToolRow) -> None:
        item = self._tools.get(row.id)
        if item is None:
            item = self._tools[row.id] = ToolItem(row)
            await self.mount(item)
        item.show(row)

    async def interrupted(self) -> None:
        """The turn was cancelled: settle a half-streamed answer where it stopped and mark the turn."""
        if not self.is_attached:  # cancelled because the app is closing: nothing left to draw on
            return
        if self._answer is not None:
            await self._settle(self._answer)
        self._answer, self._reasoning, self._reasoning_text, self._settled = None, None, "", []
        await self.add_line("⏹ interrupted: the turn stopped here; the session is kept", "warning")

    async def _delta(self, event: MessageDelta) -> None:
        if event.kind == "reasoning":
            if self._reasoning is None:
                await self._start_reasoning("")
            self._reasoning_text += event.text
            assert self._reasoning is not None
            self._reasoning.update(Text(self._reasoning_text))
            return
        text = event.text
        if self._answer is not None and (cut := split_point(self._answer.text, text)) is not None:
            await self._answer.write(text[:cut])
            await self._settle(self._answer)
            self._answer, text = None, text[cut:]
        if not text:
            return
        if self._answer is None:
            self._answer = AnswerBlock(live=True)
            await self.mount(self._answer)
        await self._answer.write(text)

    async def _settle(self, part: AnswerBlock) -> None:
        """A streamed part is finished: drawn one last time, then left as it is."""
        await part.close_stream()
        self._settled.append(part.text)
        if self.settled is not None:
            self.settled()

    async def _discard_partial_answer(self) -> None:
        if self._answer is not None:
            await self._answer.close_stream()
            await self._answer.remove()
        for block in list(self.query(AnswerBlock))[-len(self._settled):] if self._settled else []:
            await block.remove()
        self._answer, self._reasoning, self._settled = None, None, []

    async def _finish_answer(self, full: str) -> None:
        if self._answer is not None:
            await self._settle(self._answer)
        blocks = list(self.query(AnswerBlock))[-len(self._settled):] if self._settled else []
        if "".join(self._settled) != full:  # a retried stream, or no deltas: show the final text as one block
            for block in blocks:
                await block.remove()
            await self.mount(AnswerBlock(full))
        self._settled = []

    async def _start_reasoning(self, text: str) -> None:
        self._reasoning_text = text
        self._reasoning = Static(Text(text), classes="reasoning-body")
        await self.mount(Collapsible(self._reasoning, title="reasoning", collapsed=True, classes="reasoning"))
