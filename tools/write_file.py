"""write_file: create or overwrite a file, atomically, keeping an existing file's encoding and line endings."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import change
from tools.linenumbers import refuse_line_numbers
from tools.textfile import new_doc
from tools.workspace import check_not_stale, encode_for, open_path, rel, remember, write_or_explain


class WriteFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    content: str = Field(description="The complete new content of the file.")


class WriteFileTool(Tool):
    name = "write_file"
    Args = WriteFileArgs
    runs_in_thread = True
    mutates = True

    async def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        with open_path(ctx, args.path, write=True) as target:
            if target.is_dir():
                raise ToolError(f"{args.path} is a directory")
            check_not_stale(ctx, target, require_read=True)
            exists = target.exists()
            doc = target.read_doc() if exists else new_doc()
            before = doc.text if exists else None
            content = args.content.replace("\r\n", "\n")
            refuse_line_numbers(content, before or "", args.path)
            data = encode_for(doc, content, args.path)
            ctx.before_change([target.path])
            write_or_explain(target, data)
            remember(ctx, target)
        fc = change(rel(ctx, target.path), before, content)
        verb = "created" if before is None else "overwrote"
        return ToolResult(True, f"{verb} {fc.path} ({len(content.splitlines())} lines)", changes=[fc])
