"""apply_patch: multi-file edits in Codex's patch format, all or nothing."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from tools.base import FileChange, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import change
from tools.patch_format import PatchError, apply_hunks, parse_patch
from tools.workspace import atomic_write, check_not_stale, read_text, rel, remember, resolve


class ApplyPatchArgs(ToolArgs):
    patch: str = Field(description="A patch from '*** Begin Patch' to '*** End Patch'.")


class ApplyPatchTool(Tool):
    name = "apply_patch"
    description = (
        "Apply a patch in Codex format: '*** Begin Patch', then '*** Add File: p' (+lines), "
        "'*** Update File: p' (@@ hunks with ' ', '-', '+' lines) or '*** Delete File: p', then "
        "'*** End Patch'. If any hunk fails, no file changes."
    )
    Args = ApplyPatchArgs
    mutates = True

    async def run(self, args: ApplyPatchArgs, ctx: ToolContext) -> ToolResult:
        try:
            ops = parse_patch(args.patch)
        except PatchError as exc:
            raise ToolError(f"invalid patch: {exc}") from None
        # Plan every change in memory first: nothing is written unless all of it applies.
        plan: dict[Path, tuple[str | None, str | None]] = {}
        for op in ops:
            path = resolve(ctx, op.path, must_exist=op.kind != "add", write=True)
            current = plan[path][1] if path in plan else (read_text(path) if path.exists() else None)
            if op.kind == "add":
                if current is not None:
                    raise ToolError(f"Add File: {op.path} already exists; use Update File")
                plan[path] = (None, "\n".join(op.content) + "\n")
                continue
            check_not_stale(ctx, path, op.path, require_read=False)
            if op.kind == "delete":
                plan[path] = (plan.get(path, (current, None))[0], None)
                continue
            try:
                new_text = apply_hunks(current or "", op.hunks, op.path)
            except PatchError as exc:
                raise ToolError(f"{exc}\nNo file was changed.") from None
            original = plan.get(path, (current, None))[0]
            if op.move_to:
                dest = resolve(ctx, op.move_to, write=True)
                if dest.exists() or dest in plan:
                    raise ToolError(f"Move to: {op.move_to} already exists")
                plan[path] = (original, None)
                plan[dest] = (None, new_text)
            else:
                plan[path] = (original, new_text)
        ctx.before_change(list(plan))
        done: list[Path] = []
        try:
            for path, (_before, after) in plan.items():
                if after is None:
                    path.unlink()
                else:
                    atomic_write(path, after)
                done.append(path)
        except OSError as exc:
            for path in done:  # roll back what was written before the failure
                before = plan[path][0]
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write(path, before)
            raise ToolError(f"writing failed ({exc.strerror}); every change was rolled back") from None
        changes: list[FileChange] = []
        for path, (before, after) in plan.items():
            remember(ctx, path)
            changes.append(change(rel(ctx, path), before, after))
        summary = "\n".join(f"{c.action} {c.path}" for c in changes)
        return ToolResult(True, f"patch applied:\n{summary}", changes=changes)
