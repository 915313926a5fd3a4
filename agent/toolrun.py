"""Running the tool calls of one answer: parsed once, authorized (the dangerous-command list, the approval mode,
the user), run, and answered into the history in the order they were asked.

The calls that only look (`Tool.parallel_safe`: reads, searches, listings, symbol look-ups, MCP tools marked
read-only) run at once when two or more come together; every other call runs alone, in order (Codex's
read/write lock). Approvals are asked one after another, before a batch runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.approval import ApprovalRequest, Approver, dangerous_reason, needs_approval
from agent.events import ApprovalDecided, FileChanged, ToolFinished, ToolStarted
from agent.messages import ToolCall, ToolMessage
from agent.session import Session
from agent.wiretext import escaped_bytes, escaped_data
from tools.base import Tool, ToolError, ToolResult
from tools.output_buffer import head_tail
from tools.registry import ToolBox

TOOL_RESULT_CHARS = 30_000


@dataclass(frozen=True)
class _Parsed:
    """A call with its tool and validated arguments, or the error the model reads instead."""

    call: ToolCall
    tool: Tool | None
    args: Any
    error: str | None

    @property
    def parallel_safe(self) -> bool:
        return self.tool is not None and self.tool.parallel_safe


@dataclass(frozen=True)
class _Prepared:
    """A call announced and authorized (`refusal`: what the model reads instead of a result)."""

    parsed: _Parsed
    started: float
    refusal: str | None


class ToolRunner:
    """The tool side of the loop for one session. `refused`: tools of the calls the approval mode refused (not
    the dangerous-command list), in order."""

    def __init__(self, session: Session, toolbox: ToolBox, approver: Approver) -> None:
        self.session = session
        self.toolbox = toolbox
        self._approver = approver
        self.refused: list[str] = []

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
        except ToolError as exc:
            return _Parsed(call, None, None, f"error: {exc}")
        return _Parsed(call, tool, args, None)

    async def _prepare(self, parsed: _Parsed) -> _Prepared:
        """Announce the call and authorize it: what `_perform` needs."""
        call = parsed.call
        self.session.emit(ToolStarted(call_id=call.id, name=call.name, arguments=call.arguments))
        started = time.monotonic()
        if parsed.tool is None:
            return _Prepared(parsed, started, parsed.error)
        return _Prepared(parsed, started, await self._authorize(call, parsed.tool, parsed.args))

    async def _perform(self, prepared: _Prepared) -> ToolResult:
        tool = prepared.parsed.tool
        if tool is None or prepared.refusal:
            return ToolResult(False, prepared.refusal or "error: no such tool")
        # Git and file work run off the event loop, so a screen driven by it never freezes.
        if tool.mutates:
            await asyncio.to_thread(self.session.checkpoint.ensure, [], opaque=not tool.names_its_changes)
        try:
            return await self._run_tool(tool, prepared.parsed.args)
        finally:
            if tool.mutates and not tool.names_its_changes:  # what the command changed becomes the session's
                await asyncio.to_thread(self.session.checkpoint.settle)

    def _finish(self, prepared: _Prepared, result: ToolResult) -> None:
        session, call = self.session, prepared.parsed.call
        for change in result.changes:
            session.files_changed[change.path] = change.action
            session.emit(FileChanged(path=change.path, action=change.action, diff=change.diff))
        # Secrets in what a tool read (a .env printed by a command, a key in a config file) never leave.
        output = session.redact(head_tail(escaped_bytes(result.output), TOOL_RESULT_CHARS))
        session.messages.append(ToolMessage(tool_call_id=call.id, name=call.name, content=output))
        session.emit(ToolFinished(call_id=call.id, name=call.name, ok=result.ok, output=output,
                                  duration_s=round(time.monotonic() - prepared.started, 3),
                                  data=escaped_data(result.data)))

    async def _run_tool(self, tool: Tool, args: Any) -> ToolResult:
        """A tool that works synchronously (file edits, the Python search, parsing) runs in a thread with its own
        event loop; one that awaits this loop's resources (processes, the vision model) runs here."""
        if not tool.runs_in_thread:
            return await self.toolbox.run(tool, args, self.session.tool_context)
        return await asyncio.to_thread(asyncio.run, self.toolbox.run(tool, args, self.session.tool_context))

    async def _authorize(self, call: ToolCall, tool: Tool, args: Any) -> str | None:
        """None when the call may run; otherwise the refusal the model reads."""
        config = self.session.config
        command = getattr(args, "command", None) if tool.name == "shell" else None
        if command is not None:
            reason = dangerous_reason(command, self.session.workspace, config.allow_commands)
            if reason:
                self._decided(call, False, f"refused: this command {reason}", by_policy=False)
                return (f"refused: this command {reason}. It is on Duet's list of dangerous commands; "
                        "the user can allow it in config (allow_commands). Find another way.")
        launcher = self.session.tool_context.launcher
        verdict = needs_approval(config.approval, tool.name, tool.mutates,
                                 confined=launcher is not None and launcher.confines, preapproved=tool.preapproved)
        if verdict is None:
            self._decided(call, False, "read-only mode")
            return f"denied: the session is read-only; {tool.name} would change the workspace"
        if verdict:
            summary = command if command is not None else tool.approval_summary(args)
            decision = await self._approver(ApprovalRequest(call.id, tool.name, summary, command, call.arguments))
            self._decided(call, decision.approved, decision.reason)
            if not decision.approved:
                if not decision.by_user:
                    return f"refused: {decision.reason}"
                note = f": {decision.reason}" if decision.reason else ""
                return f"denied by the user{note}"
        return None

    def _decided(self, call: ToolCall, approved: bool, reason: str, by_policy: bool = True) -> None:
        if not approved and by_policy:
            self.refused.append(call.name)  # a different approval mode would have let it run
        self.session.emit(ApprovalDecided(call_id=call.id, name=call.name, approved=approved, reason=reason))
