"""apply_patch: multi-file edits in Codex's patch format, all or nothing."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from tools.base import FileChange, Preview, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.beneath import LinkRefused, open_dir_beneath
from tools.diffs import change
from tools.effects import Effect, Write
from tools.fileplan import FilePlan, check_previewed, diff_preview
from tools.linenumbers import refuse_line_numbers
from tools.patch_format import FileOp, PatchError, apply_hunks, parse_patch
from tools.staged import Staged, commit_all, stage_at
from tools.textfile import NotTextError, TextDoc, decode, new_doc
from tools.workspace import Opened, check_not_stale, encode_for, open_path, rel, remember
from tools.writeguard import WriteGuard


class ApplyPatchArgs(ToolArgs):
    patch: str = Field(description="The whole patch, from '*** Begin Patch' to '*** End Patch'.")


@dataclass
class _Planned:
    """One file's state in the plan: what it held on disk, how it is stored, and what it will hold."""

    before: bytes | None
    before_text: str | None
    doc: TextDoc
    text: str | None
    encoded: bytes | None = None
    """`text` as the bytes written (set once the whole patch is planned)."""


class ApplyPatchTool(Tool):
    name = "apply_patch"
    Args = ApplyPatchArgs
    runs_in_thread = True
    mutates = True

    def effect(self, args: ApplyPatchArgs, ctx: ToolContext) -> Effect:
        try:
            ops = parse_patch(args.patch)
        except PatchError:
            return Write()
        return Write(tuple(dict.fromkeys(p for op in ops for p in (op.path, op.move_to) if p)))

    def preview(self, args: ApplyPatchArgs, ctx: ToolContext) -> Preview:
        with ExitStack() as files:
            plan, _opened = self._plan_all(args, ctx, files)
            return diff_preview(self._file_plans(plan, ctx))

    async def run(self, args: ApplyPatchArgs, ctx: ToolContext) -> ToolResult:
        return await self.apply(args, ctx, None)

    async def apply(self, args: ApplyPatchArgs, ctx: ToolContext, previewed: Preview | None) -> ToolResult:
        with ExitStack() as files:  # every file opened once, beneath the root; written through the same fds
            plan, opened = self._plan_all(args, ctx, files)
            file_plans = self._file_plans(plan, ctx)
            check_previewed(file_plans, previewed)
            return self._write(plan, opened, ctx)

    def _plan_all(self, args: ApplyPatchArgs, ctx: ToolContext,
                  files: ExitStack) -> tuple[dict[Path, _Planned], dict[Path, Opened]]:
        """Every file the patch touches, opened once, and what each will hold; ToolError when it cannot apply."""
        try:
            ops = parse_patch(args.patch)
        except PatchError as exc:
            raise ToolError(f"invalid patch: {exc}\nNo file was changed.") from None
        plan: dict[Path, _Planned] = {}
        opened: dict[Path, Opened] = {}

        def target(name: str) -> Opened:
            found = files.enter_context(open_path(ctx, name, write=True))
            return opened.setdefault(found.path, found)

        try:
            for op in ops:
                self._plan(op, ctx, plan, target)
        except PatchError as exc:
            raise ToolError(f"{exc}\nNo file was changed.") from None
        for path, planned in plan.items():
            if planned.text is not None:
                planned.encoded = encode_for(planned.doc, planned.text, rel(ctx, path))
        return plan, opened

    @staticmethod
    def _file_plans(plan: dict[Path, _Planned], ctx: ToolContext) -> list[FilePlan]:
        """The plan as the bytes before and after of every file it changes (an added-then-deleted file: none)."""
        return [FilePlan(rel(ctx, path), p.before, p.encoded, p.before_text, p.text) for path, p in plan.items()
                if not (p.before is None and p.text is None)]

    def _state(self, ctx: ToolContext, path: Opened, plan: dict[Path, _Planned]) -> _Planned:
        """The file as the plan has it so far (earlier operations of this patch included)."""
        if path.path in plan:
            return plan[path.path]
        if path.is_dir():
            raise PatchError(f"{path.display} is a directory")
        if not path.exists():
            return _Planned(None, None, new_doc(), None)
        check_not_stale(ctx, path, require_read=False)
        data = path.read_bytes()
        try:
            doc = decode(data)
        except NotTextError as exc:
            raise ToolError(f"{path.path.name}: {exc}; not shown") from None
        return _Planned(data, doc.text, doc, doc.text)

    def _plan(self, op: FileOp, ctx: ToolContext, plan: dict[Path, _Planned],
              target: Callable[[str], Opened]) -> None:
        opened = target(op.path)
        path = opened.path
        state = self._state(ctx, opened, plan)
        if op.kind == "add":  # Codex's Add File overwrites an existing file
            text = "\n".join(op.content) + "\n" if op.content else ""
            refuse_line_numbers(text, state.text or "", f"Add File: {op.path}")
            plan[path] = _Planned(state.before, state.before_text, state.doc, text)
            return
        if state.text is None:
            verb = "delete" if op.kind == "delete" else "update"
            raise PatchError(f"Failed to {verb} {op.path}: no such file (line {op.line} of the patch)")
        if op.kind == "delete":
            plan[path] = _Planned(state.before, state.before_text, state.doc, None)
            return
        added = "\n".join(text for hunk in op.hunks for kind, text in hunk.lines if kind == "+")
        refuse_line_numbers(added, state.text, f"Update File: {op.path}")
        new_text = apply_hunks(state.text, op.hunks, op.path)
        if not op.move_to:
            plan[path] = _Planned(state.before, state.before_text, state.doc, new_text)
            return
        dest = target(op.move_to)
        moved = self._state(ctx, dest, plan)  # Codex's Move to overwrites an existing file
        plan[path] = _Planned(state.before, state.before_text, state.doc, None)
        plan[dest.path] = _Planned(moved.before, moved.before_text, state.doc, new_text)

    def _write(self, plan: dict[Path, _Planned], opened: dict[Path, Opened], ctx: ToolContext) -> ToolResult:
        ctx.before_change(list(plan))
        guard = ctx.write_guard
        try:
            with guard.locked():  # the workspace's edit lock, as for every write (tools.writeguard)
                self._write_locked(plan, opened, guard)
        except OSError as exc:
            why = "a symbolic link appeared on the way" if isinstance(exc, LinkRefused) else exc.strerror
            raise ToolError(f"writing failed ({why}); every change was rolled back") from None
        changes: list[FileChange] = []
        for path, planned in plan.items():
            remember(ctx, opened[path])
            if planned.before is None and planned.text is None:
                continue
            changes.append(change(rel(ctx, path), planned.before_text, planned.text))
        summary = "\n".join(f"{c.action} {c.path}" for c in changes)
        return ToolResult(True, f"patch applied:\n{summary}", changes=changes)

    @staticmethod
    def _write_locked(plan: dict[Path, _Planned], opened: dict[Path, Opened], guard: WriteGuard) -> None:
        """Every new file's bytes staged and synced first, then all renamed in one pass, then the deletions: a kill
        before the pass changes nothing (tools.staged; what remains is the pass itself). Each file is checked
        unchanged since it was read and told to the guard (the checkpoint's record) before anything is written;
        an OSError rolls back what was written."""
        staged: list[tuple[Path, Staged]] = []
        removed: list[Path] = []
        written: list[Path] = []
        try:
            for path, planned in plan.items():
                target = opened[path]
                current, mode = target._unchanged()  # ChangedSinceRead (an OSError): another writer was first
                if planned.text is None:
                    if current is not None or target.lstat() is not None:
                        guard.before_write(path, current, mode, None)
                        removed.append(path)
                    continue
                assert planned.encoded is not None
                guard.before_write(path, current, mode, planned.encoded)
                if target.dir_fd is None:
                    target.dir_fd = open_dir_beneath(target.root_fd, target.parent, make=True)
                staged.append((path, stage_at(target.dir_fd, target.name, planned.encoded)))
            try:
                commit_all([item for _path, item in staged])
            except OSError as exc:
                written = [path for path, _item in staged[:getattr(exc, "renamed", 0)]]
                raise
            written = [path for path, _item in staged]
            for path in removed:
                _remove(opened[path])
                written.append(path)
        except OSError:
            for _path, item in staged:
                item.discard()
            for path in written:  # roll back what was written before the failure
                target, before = opened[path], plan[path].before
                with contextlib.suppress(OSError):
                    if before is None:
                        _remove(target)
                    elif target.dir_fd is not None:
                        commit_all([stage_at(target.dir_fd, target.name, before)])
            raise
        for path, planned in plan.items():
            if path in written:
                guard.after_write(path, planned.encoded if planned.text is not None else None)


def _remove(target: Opened) -> None:
    """Remove the file (under the edit lock the caller holds; `Opened.unlink` would take it again)."""
    if target.dir_fd is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target.name, dir_fd=target.dir_fd)
