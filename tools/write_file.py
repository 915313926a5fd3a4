"""write_file: create or overwrite a file, atomically."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import change
from tools.workspace import atomic_write, check_not_stale, read_text, rel, remember, resolve


class WriteFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    content: str = Field(description="The complete new content of the file.")


class WriteFileTool(Tool):
    name = "write_file"
    description = "Create a file, or overwrite one you have read, with the given content."
    Args = WriteFileArgs
    mutates = True

    async def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        path = resolve(ctx, args.path, write=True)
        if path.is_dir():
            raise ToolError(f"{args.path} is a directory")
        check_not_stale(ctx, path, args.path, require_read=True)
        before = read_text(path) if path.exists() else None
        ctx.before_change([path])
        atomic_write(path, args.content)
        remember(ctx, path)
        fc = change(rel(ctx, path), before, args.content)
        verb = "created" if before is None else "overwrote"
        return ToolResult(True, f"{verb} {fc.path} ({len(args.content.splitlines())} lines)", changes=[fc])
