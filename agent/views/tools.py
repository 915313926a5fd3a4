"""The tool-row fold: one row per tool call, from schema-2 items (`item.started` / `item.completed` of kind
command_execution, file_change, tool_call, mcp_tool_call) or from schema 1 (`tool.started`, `file.changed`,
`tool.finished`). Both may arrive for one call (the id is the call id): they refine the same row.

What a row is comes from the item's kind, or in schema 1 from what the call reported (an exit code: a command;
a changed file: a file change), never from the tool's name."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.events import (
    ApprovalDecided,
    Event,
    FileChanged,
    FileChangeEntry,
    ItemCompleted,
    ItemKind,
    ItemStarted,
    ItemStatus,
    ToolFinished,
    ToolStarted,
)

TOOL_ITEM_KINDS = frozenset({"command_execution", "file_change", "tool_call", "mcp_tool_call"})
_ACTIONS = {"created": "add", "modified": "update", "deleted": "delete"}


@dataclass
class ToolRow:
    """One tool call as the front ends show it."""

    id: str
    tool: str
    arguments: str
    kind: ItemKind = "tool_call"
    status: ItemStatus = "in_progress"
    command: str = ""
    server: str = ""
    output: str = ""
    exit_code: int | None = None
    duration_s: float | None = None
    hits: int | None = None
    diffs: list[str] = field(default_factory=list)
    changes: list[FileChangeEntry] = field(default_factory=list)
    started_at: float = 0.0
    """When the call started (the event's time): a running row shows how long it has run."""
    unfinished: bool = False
    """The stream went on (a new prompt, a resumed session) without this call ever reporting its end."""

    @property
    def finished(self) -> bool:
        return self.status != "in_progress"

    @property
    def ok(self) -> bool:
        return self.status == "completed"


class ToolRows:
    """`apply(event)` returns the row the event started or changed (None if it was not about a tool call)."""

    def __init__(self) -> None:
        self.rows: dict[str, ToolRow] = {}
        self._last: ToolRow | None = None  # schema 1: a `file.changed` belongs to the call that ran last

    def settle(self) -> list[ToolRow]:
        """Rows still running when the stream says they cannot be (a new prompt, a new or resumed session, the end
        of a replayed transcript): marked as never finished, and returned."""
        settled = [row for row in self.rows.values() if not row.finished]
        for row in settled:
            row.status, row.unfinished = "failed", True
        return settled

    def apply(self, event: Event) -> ToolRow | None:
        if isinstance(event, ToolStarted):
            return self._start(event.call_id, event.name, event.arguments, event.ts)
        if isinstance(event, ItemStarted | ItemCompleted) and event.item.kind in TOOL_ITEM_KINDS:
            item = event.item
            row = self._start(item.id, item.tool, item.arguments, event.ts)
            row.kind = item.kind
            row.command = item.command or row.command
            row.server = item.server or row.server
            if item.changes:
                row.changes = list(item.changes)
            if isinstance(event, ItemCompleted):
                row.status = item.status
                row.output = item.text or row.output
                row.exit_code = item.exit_code if item.exit_code is not None else row.exit_code
                row.duration_s = item.duration_s if item.duration_s is not None else row.duration_s
            return row
        if isinstance(event, FileChanged) and self._last is not None:
            row = self._last
            row.diffs.append(event.diff)
            if row.kind == "tool_call":
                row.kind = "file_change"
            if not any(c.path == event.path for c in row.changes):
                row.changes.append(FileChangeEntry(path=event.path, kind=_ACTIONS[event.action]))  # type: ignore[arg-type]
            return row
        if isinstance(event, ToolFinished) and event.call_id in self.rows:
            row = self.rows[event.call_id]
            if row.status != "declined":
                row.status = "completed" if event.ok else "failed"
            row.output = event.output
            row.duration_s = event.duration_s
            exit_code, hits = event.data.get("exit_code"), event.data.get("hits")
            if isinstance(exit_code, int):
                row.exit_code = exit_code
                row.command = row.command or str(event.data.get("command", ""))
                if row.kind == "tool_call":
                    row.kind = "command_execution"
            if isinstance(hits, int):
                row.hits = hits
            return row
        if isinstance(event, ApprovalDecided) and not event.approved and event.call_id in self.rows:
            row = self.rows[event.call_id]
            row.status = "declined"
            return row
        return None

    def _start(self, call_id: str, tool: str, arguments: str, ts: float) -> ToolRow:
        row = self.rows.get(call_id)
        if row is None:
            row = self.rows[call_id] = ToolRow(call_id, tool, arguments, started_at=ts)
        row.tool, row.arguments = row.tool or tool, row.arguments or arguments
        self._last = row
        return row
