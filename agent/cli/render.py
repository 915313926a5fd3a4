"""Headless renderers of the event stream: human text (rich), one JSON result, or JSONL events.

Each gets `init` once the session exists, every event, then `finish` with the run's result.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any, Protocol, TextIO

from agent.events import (
    EPHEMERAL,
    ApprovalDecided,
    AssistantMessageEvent,
    Event,
    FileChanged,
    ItemCompleted,
    ItemStarted,
    MessageDelta,
    ModelCallStarted,
    Notice,
    SessionStarted,
    StreamReset,
    TestsRan,
    ToolFinished,
    ToolStarted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    UsageEvent,
)
from agent.result import RunResult, SystemInit
from agent.terminal_text import safe_event
from agent.views.tools import ToolRow, ToolRows


class Renderer(Protocol):
    """What headless runs write their output through."""

    session_id: str | None

    def init(self, init: SystemInit) -> None: ...

    def __call__(self, event: Event) -> None: ...

    def finish(self, result: RunResult) -> None: ...


class StreamJsonRenderer:
    """One JSON object per line: `system/init`, the events the transcript stores (each with the session id),
    then the result object. `turn.completed` also carries the turn's usage, as Codex's `exec --json` does."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self.session_id: str | None = None
        self._turn_usage: dict[str, int] = {}

    def init(self, init: SystemInit) -> None:
        self.session_id = init.session_id
        self._write(init.model_dump(mode="json"))

    def __call__(self, event: Event) -> None:
        if event.type in EPHEMERAL:
            return
        data: dict[str, Any] = event.model_dump(mode="json")
        if isinstance(event, TurnStarted):
            self._turn_usage = {}
        elif isinstance(event, UsageEvent):
            r = event.record
            for key, value in (("input_tokens", r.input_tokens), ("cached_input_tokens", r.cache_hit_tokens),
                               ("output_tokens", r.output_tokens), ("reasoning_output_tokens", r.reasoning_tokens)):
                self._turn_usage[key] = self._turn_usage.get(key, 0) + value
        elif isinstance(event, TurnCompleted):
            data["usage"] = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
                             "reasoning_output_tokens": 0, **self._turn_usage}
        self._write({"type": data.pop("type"), "session_id": self.session_id, **data})

    def finish(self, result: RunResult) -> None:
        self._write(result.model_dump(mode="json"))

    def _write(self, data: dict[str, Any]) -> None:
        self._out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self._out.flush()


class JsonRenderer:
    """Nothing while running; exactly one result object at the end."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self.session_id: str | None = None

    def init(self, init: SystemInit) -> None:
        self.session_id = init.session_id

    def __call__(self, event: Event) -> None:
        pass

    def finish(self, result: RunResult) -> None:
        self._out.write(result.model_dump_json(indent=2) + "\n")
        self._out.flush()


class TextRenderer:
    """Readable progress for people: streamed answer text, one line per tool call, spend per call."""

    def __init__(self, out: TextIO | None = None) -> None:
        from rich.console import Console

        class PipeConsole(Console):
            def on_broken_pipe(self) -> None:
                # rich's own answer is to exit the process with 1; the run must end itself (exit 141, its
                # closing record written), so the error goes to the caller.
                raise BrokenPipeError

        self._console = PipeConsole(file=out or sys.stdout, highlight=False, soft_wrap=True)
        self._streaming = False
        self._streamed = ""  # the answer text streamed since the last finished answer
        self._rows = ToolRows()
        self._announced: set[str] = set()
        self._ended: set[str] = set()
        self._said: dict[str, Counter[str]] = {"message": Counter(), "item": Counter()}
        self.session_id: str | None = None

    def init(self, init: SystemInit) -> None:
        self.session_id = init.session_id

    def _line(self, text: str, style: str = "") -> None:
        if self._streaming:
            self._console.print()
            self._streaming = False
        self._console.print(text, style=style, markup=False)

    def __call__(self, event: Event) -> None:
        event = safe_event(event)  # model and tool text never drives the terminal
        if isinstance(event, MessageDelta):
            if event.kind == "text":
                self._console.print(event.text, end="", markup=False)
                self._streaming = True
                self._streamed += event.text
            return
        if isinstance(event, StreamReset):
            self._streamed = ""
            self._line("[stream cut; retrying the turn]", "yellow")
        elif isinstance(event, SessionStarted):
            self._line(f"duet session {event.session_id} in {event.workspace}", "dim")
        elif isinstance(event, ModelCallStarted):
            self._line(f"── call {event.call} · {event.model} ({event.reason})", "dim")
        elif isinstance(event, TurnStarted) and event.model:  # schema 1: a turn per model call
            self._line(f"── call {event.turn} · {event.model} ({event.reason})", "dim")
        elif isinstance(event, AssistantMessageEvent):
            self._answer(self._once("message", event.message.content))
        elif isinstance(event, ItemCompleted) and event.item.kind == "agent_message":
            self._answer(self._once("item", event.item.text))
        elif isinstance(event, ItemCompleted) and event.item.kind == "notice":
            if self._once("item", event.item.text):
                self._line(f"! {event.item.text}")
        elif (row := self._rows.apply(event)) is not None or isinstance(event, FileChanged | ApprovalDecided):
            self._tool_line(event, row)
        elif isinstance(event, UsageEvent):
            r = event.record
            est = (" (estimated)" if r.estimated else "") + ("" if r.priced else " (no price known for this model)")
            self._line(f"  ${r.cost_usd:.4f} {r.model}: in {r.input_tokens:,} (cache hit {r.cache_hit_tokens:,}), "
                       f"out {r.output_tokens:,}{est} · session ${float(event.session_usd):.4f}", "dim")
        elif isinstance(event, TestsRan):
            self._line(f"tests: {event.command} → {event.summary}", "green" if event.passed else "red")
        elif isinstance(event, Notice):
            if self._once("message", event.message):
                self._line(f"! {event.message}", "yellow" if event.level != "info" else "")
        elif isinstance(event, TurnFailed):
            self._line(f"turn {event.turn} failed: {event.error}", "red")

    def _once(self, source: str, text: str) -> str:
        """`text`, or "" when it is the twin of one already shown (an answer both as `assistant.message` and as
        an `agent_message` item, while the loop emits both shapes)."""
        if not text:
            return ""
        mine, other = self._said[source], self._said["item" if source == "message" else "message"]
        mine[text] += 1
        return "" if other[text] >= mine[text] else text

    def _answer(self, content: str) -> None:
        """A finished answer: already on screen if it streamed, printed whole if it did not (a replay)."""
        if content and content.strip() != self._streamed.strip():
            self._line(content)
        self._streamed = ""

    def _tool_line(self, event: Event, row: ToolRow | None) -> None:
        if row is None or isinstance(event, FileChanged | ApprovalDecided):
            self._change_line(event)
        elif isinstance(event, ToolStarted | ItemStarted) and row.id not in self._announced:
            self._announced.add(row.id)
            self._line(f"→ {row.tool or 'command'} {_short(row.arguments or row.command)}", "cyan")
        elif isinstance(event, ToolFinished | ItemCompleted) and row.finished and row.id not in self._ended:
            self._ended.add(row.id)
            if row.status == "declined":  # a refusal shows once
                return
            lines = row.output.strip().splitlines() or [""]
            # A command's last line is its verdict (the test summary, the error); another tool's first is.
            shown = lines[-1] if row.kind == "command_execution" else lines[0] + (
                f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")
            self._line(f"  {'✓' if row.ok else '✗'} {_short(shown)}", "green" if row.ok else "red")
            if not row.diffs:  # schema 2 without `file.changed` beside it: the item names the paths
                for change in row.changes:
                    self._line(f"  {change.kind} {change.path}", "magenta")

    def _change_line(self, event: Event) -> None:
        if isinstance(event, FileChanged):
            plus = sum(1 for ln in event.diff.splitlines() if ln.startswith("+") and not ln.startswith("+++"))
            minus = sum(1 for ln in event.diff.splitlines() if ln.startswith("-") and not ln.startswith("---"))
            self._line(f"  {event.action} {event.path} (+{plus} -{minus})", "magenta")
        elif isinstance(event, ApprovalDecided) and not event.approved:
            self._line(f"  refused {event.name}: {event.reason}", "yellow")

    def finish(self, summary: RunResult) -> None:
        from rich.table import Table

        summary = safe_event(summary)
        if self._streaming:
            self._console.print()
        table = Table(title=f"Spend · session {summary.session_id}", title_justify="left")
        for column in ("model", "calls", "input", "cache hit", "output", "reasoning", "USD"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for name, m in summary.models.items():
            table.add_row(name, str(m.calls), f"{m.input_tokens:,}", f"{m.cache_hit_tokens:,}",
                          f"{m.output_tokens:,}", f"{m.reasoning_tokens:,}",
                          f"${m.usd:.4f}" if m.usd is not None else "no price")
        table.add_row("total", "", "", "", "", "", f"${summary.total_cost_usd:.4f}", style="bold")
        self._console.print(table)
        if summary.unpriced_models:
            self._console.print(f"no price known for {', '.join(summary.unpriced_models)}: not counted in the "
                                "total (add a [[prices]] row to your config)", style="yellow", markup=False)
        if summary.files_changed:
            self._console.print("files changed: " + ", ".join(summary.files_changed), markup=False)
        self._console.print(f"{summary.outcome.value} (exit {summary.exit_code}): {summary.message}",
                            markup=False, style="bold")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_renderer(kind: str) -> Renderer:
    if kind == "json":
        return JsonRenderer()
    if kind == "stream-json":
        return StreamJsonRenderer()
    return TextRenderer()
