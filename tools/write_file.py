"""write_file: create or overwrite a file, atomically, keeping an existing file's encoding and line endings."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import change
from tools.linenumbers import refuse_line_numbers
from tools.textfile import new_doc
from tools.workspace import atomic_write, check_not_stale, encode_for, read_doc, rel, remember, resolve


class WriteFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    content: str = Field(description="The complete new content of the file.")


class WriteFileTool(Tool):
    name = "write_file"
    Args = WriteFileArgs
    runs_in_thread = True
    mutates = True

    async def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        path = resolve(ctx, args.path, write=True)
        if path.is_dir():
            raise ToolError(f"{args.path} is a directory")
        check_not_stale(ctx, path, args.path, require_read=True)
        doc = read_doc(path) if path.exists() else new_doc()
        before = doc.text if path.exists() else None
        content = args.content.replace("\r\n", "\n")
        refuse_line_numbers(content, before or "", args.path)
        data = encode_for(doc, content, args.path)
        ctx.before_change([path])
        atomic_write(path, data)
        remember(ctx, path)
        fc = change(rel(ctx, path), before, content)
        verb = "created" if before is None else "overwrote"
        return ToolResult(True, f"{verb} {fc.path} ({len(content.splitlines())} lines)", changes=[fc])
