"""Running the tool calls of one answer: parsed once, authorized (the dangerous-command list, the approval mode,
the tool's own dry run, the user), run, and answered into the history in the order they were asked.

Every decision comes from what the tool says the call does (its effect: tools.effects), never from its name.
The calls that only look (`Tool.parallel_safe`: reads, searches, listings, symbol look-ups, MCP tools marked
read-only) run at once when two or more come together; every other call runs alone, in order (Codex's
read/write lock). Approvals are asked one after another, before a batch runs. A call that needs approval is
previewed first: a preview that fails (an edit that cannot apply) is the call's result and no one is asked; an
approved call is held to its preview (what is approved is byte for byte what is written).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.approval import ApprovalRequest, Approver, dangerous_reason, needs_approval
from agent.events import (
    ApprovalDecided,
    FileChanged,
    FileChangeEntry,
    Item,
    ItemCompleted,
    ItemKind,
    ItemStarted,
    ItemStatus,
    ToolFinished,
    ToolStarted,
)
from agent.messages import ToolCall, ToolMessage
from agent.readset import READ_STAMPS_KEY, new_stamps
from agent.session import Session
from agent.wiretext import escaped_bytes, escaped_data
from tools.base import FileChange, Preview, Tool, ToolError, ToolResult
from tools.effects import Effect, Exec, External, Read
from tools.output_buffer import head_tail
from tools.registry import ToolBox

TOOL_RESULT_CHARS = 30_000
_CHANGE_KINDS: dict[str, Any] = {"created": "add", "modified": "update", "deleted": "delete"}


@dataclass(frozen=True)
class _Parsed:
    """A call with its tool, validated arguments and effect, or the error the model reads instead."""

    call: ToolCall
    tool: Tool | None
    args: Any
    error: str | None
    effect: Effect = field(default_factory=Read)

    @property
    def parallel_safe(self) -> bool:
        return self.tool is not None and self.tool.parallel_safe


@dataclass(frozen=True)
class _Verdict:
    """What authorizing a call decided: `refusal` (what the model reads instead of a result), whether that was
    a refusal to run it (`declined`) or the call's own failure, and the dry run that was approved."""

    refusal: str | None = None
    declined: bool = False
    previewed: Preview | None = None


@dataclass(frozen=True)
class _Prepared:
    """A call announced and authorized."""

    parsed: _Parsed
    started: float
    verdict: _Verdict


def item_kind(effect: Effect) -> ItemKind:
    """The event item a call of this effect is (Codex's item kinds)."""
    if isinstance(effect, Exec):
        return "command_execution"
    if isinstance(effect, External):
        return "mcp_tool_call"
    return "tool_call" if isinstance(effect, Read) else "file_change"


def _changes(changes: Sequence[FileChange]) -> tuple[FileChangeEntry, ...]:
    return tuple(FileChangeEntry(path=c.path, kind=_CHANGE_KINDS[c.action]) for c in changes)


class ToolRunner:
    """The tool side of the loop for one session. `refused`: tools of the calls the approval mode refused (not
    the dangerous-command list), in order; `refused_effects`: what those calls would have done."""

    def __init__(self, session: Session, toolbox: ToolBox, approver: Approver) -> None:
        self.session = session
        self.toolbox = toolbox
        self._approver = approver
        self.refused: list[str] = []
        self.refused_effects: list[Effect] = []
        self._read: dict[str, list[dict[str, Any]]] = {}

    async def execute_all(self, calls: Sequence[ToolCall]) -> None:
        """The answer's calls in order; each run of two or more parallel-safe calls at once, their results
        answered in the order they were asked."""
        parsed = [self._parse(call) for call in calls]
        i = 0
        while i < len(parsed):
            j = i
            while j < len(parsed) and parsed[j].parallel_safe:
                j += 1
            batch = parsed[i:max(j, i + 1)]
            prepared = [await self._prepare(p) for p in batch]  # approvals, if any, one after another
            if len(prepared) > 1:
                results = await asyncio.gather(*(self._perform(p) for p in prepared))
            else:
                results = [await self._perform(prepared[0])]
            for p, result in zip(prepared, results, strict=True):
                self._finish(p, result)
            i += len(batch)

    def _parse(self, call: ToolCall) -> _Parsed:
        try:
            tool, args = self.toolbox.parse(call.name, call.arguments)
            effect = tool.effect(args, self.session.tool_context)
        except ToolError as exc:
            return _Parsed(call, None, None, f"error: {exc}")
        return _Parsed(call, tool, args, None, effect)

    def _item(self, parsed: _Parsed, **fields: Any) -> Item:
        call, effect = parsed.call, parsed.effect
        return Item(id=call.id, kind=item_kind(effect), tool=call.name, arguments=call.arguments,
                    server=effect.server if isinstance(effect, External) else "",
                    command=effect.command if isinstance(effect, Exec) else "", **fields)

    async def _prepare(self, parsed: _Parsed) -> _Prepared:
        """Announce the call and authorize it: what `_perform` needs."""
        call = parsed.call
        self.session.emit(ToolStarted(call_id=call.id, name=call.name, arguments=call.arguments))
        self.session.emit(ItemStarted(turn=self.session.turns, item=self._item(parsed)))
        if parsed.tool is None:
            return _Prepared(parsed, time.monotonic(), _Verdict(parsed.error))
        verdict = await self._authorize(parsed, parsed.tool)
        return _Prepared(parsed, time.monotonic(), verdict)  # timed from the decision: the wait is not run time

    async def _perform(self, prepared: _Prepared) -> ToolResult:
        tool, verdict = prepared.parsed.tool, prepared.verdict
        if tool is None or verdict.refusal:
            return ToolResult(False, verdict.refusal or "error: no such tool")
        # Git and file work run off the event loop, so a screen driven by it never freezes.
        effect = prepared.parsed.effect
        opaque = isinstance(effect, Exec | External)  # a command or an external call may change files it cannot name
        if not isinstance(effect, Read):
            await asyncio.to_thread(self.session.checkpoint.ensure, [], opaque=opaque)
        stamps = self.session.tool_context.read_stamps
        before = dict(stamps)
        try:
            return await self._run_tool(tool, prepared.parsed.args, verdict.previewed)
        finally:
            # What the model now knows of each file it read or wrote, kept in the transcript for `agent resume`.
            self._read[prepared.parsed.call.id] = new_stamps(before, stamps, self.session.workspace)
            if opaque:  # what the command changed becomes the session's (snapshots before and after it)
                await asyncio.to_thread(self.session.checkpoint.settle)

    def _finish(self, prepared: _Prepared, result: ToolResult) -> None:
        session, call = self.session, prepared.parsed.call
        for change in result.changes:
            session.files_changed[change.path] = change.action
            session.emit(FileChanged(path=change.path, action=change.action, diff=change.diff))
        # Secrets in what a tool read (a .env printed by a command, a key in a config file) never leave.
        output = session.redact(head_tail(escaped_bytes(result.output), TOOL_RESULT_CHARS))
        session.messages.append(ToolMessage(tool_call_id=call.id, name=call.name, content=output))
        duration = round(time.monotonic() - prepared.started, 3)
        data = escaped_data(result.data)
        if read := self._read.pop(call.id, None):
            data = {**data, READ_STAMPS_KEY: read}
        session.emit(ToolFinished(call_id=call.id, name=call.name, ok=result.ok, output=output,
                                  duration_s=duration, data=data))
        status: ItemStatus = ("declined" if prepared.verdict.declined else "completed" if result.ok else "failed")
        code = result.data.get("exit_code")
        session.emit(ItemCompleted(turn=session.turns, item=self._item(
            prepared.parsed, status=status, text=output, changes=_changes(result.changes), duration_s=duration,
            exit_code=code if isinstance(code, int) and isinstance(prepared.parsed.effect, Exec) else None)))

    async def _run_tool(self, tool: Tool, args: Any, previewed: Preview | None) -> ToolResult:
        """A tool that works synchronously (file edits, the Python search, parsing) runs in a thread with its own
        event loop; one that awaits this loop's resources (processes, the vision model) runs here."""
        ctx = self.session.tool_context
        if not tool.runs_in_thread:
            return await self.toolbox.run(tool, args, ctx, previewed)
        return await asyncio.to_thread(asyncio.run, self.toolbox.run(tool, args, ctx, previewed))

    async def _authorize(self, parsed: _Parsed, tool: Tool) -> _Verdict:
        """Whether the call may run, decided from its effect and the approval mode, then the user."""
        call, effect, args = parsed.call, parsed.effect, parsed.args
        config, ctx = self.session.config, self.session.tool_context
        command = effect.command if isinstance(effect, Exec) else None
        if command is not None:
            reason = dangerous_reason(command, self.session.workspace, config.allow_commands)
            if reason:
                self._decided(call, effect, False, f"refused: this command {reason}", by_policy=False)
                return _Verdict(f"refused: this command {reason}. It is on Duet's list of dangerous commands; "
                                "the user can allow it in config (allow_commands). Find another way.", declined=True)
        launcher = ctx.launcher
        verdict = needs_approval(config.approval, effect, confined=launcher is not None and launcher.confines,
                                 preapproved=tool.preapproved)
        if verdict is None:
            self._decided(call, effect, False, "read-only mode")
            return _Verdict(f"denied: the session is read-only; {tool.name} would change the workspace",
                            declined=True)
        if not verdict:
            return _Verdict()
        try:  # the tool's own dry run: what the user approves is what it will do
            shown = await asyncio.to_thread(tool.preview, args, ctx) if tool.runs_in_thread else tool.preview(args,
                                                                                                             ctx)
        except ToolError as exc:
            return _Verdict(f"error: {exc}")
        except OSError as exc:
            return _Verdict(f"error: {exc.strerror or exc}")
        summary = command if command is not None else tool.approval_summary(args)
        decision = await self._approver(ApprovalRequest(call.id, tool.name, summary, command, call.arguments,
                                                        preview=shown, effect=effect))
        self._decided(call, effect, decision.approved, decision.reason)
        if decision.approved:
            return _Verdict(previewed=shown)
        if not decision.by_user:
            return _Verdict(f"refused: {decision.reason}", declined=True)
        note = f": {decision.reason}" if decision.reason else ""
        return _Verdict(f"denied by the user{note}", declined=True)

    def _decided(self, call: ToolCall, effect: Effect, approved: bool, reason: str, by_policy: bool = True) -> None:
        if not approved and by_policy:
            self.refused.append(call.name)  # a different approval mode would have let it run
            self.refused_effects.append(effect)
        self.session.emit(ApprovalDecided(call_id=call.id, name=call.name, approved=approved, reason=reason))
