"""read_file: numbered lines of a text file, paged."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.workspace import open_path, rel, remember

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000


class ReadFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    offset: int = Field(default=1, ge=1, description="First line to show (1-based).")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=10_000, description="Most lines to show.")


class ReadFileTool(Tool):
    name = "read_file"
    Args = ReadFileArgs
    runs_in_thread = True
    parallel_safe = True

    async def run(self, args: ReadFileArgs, ctx: ToolContext) -> ToolResult:
        with open_path(ctx, args.path) as source:
            if not source.exists():
                raise ToolError(f"{args.path}: no such file")
            if source.is_dir():
                raise ToolError(f"{args.path} is a directory; use list_files")
            doc = source.read_doc()
            remember(ctx, source)  # the stamp of the file just read, from the same directory fd
        path = source.path
        lines = doc.text.split("\n")
        if lines[-1] == "":
            lines.pop()
        notes = []
        if doc.encoding != "utf-8" or doc.bom:
            notes.append(f"encoding: {doc.encoding}{' with a byte-order mark' if doc.bom else ''}; edits keep it")
        if doc.line_ending_name != "LF":
            notes.append(f"line endings: {doc.line_ending_name}; edits keep them")
        total = len(lines)
        if total == 0:
            return ToolResult(True, f"{rel(ctx, path)} is empty")
        if args.offset > total:
            raise ToolError(f"{args.path} has {total} lines; offset {args.offset} is past the end")
        end = min(total, args.offset + args.limit - 1)
        body = []
        for n in range(args.offset, end + 1):
            line = lines[n - 1]
            if len(line) > MAX_LINE_CHARS:
                line = line[:MAX_LINE_CHARS] + f" …[{len(line) - MAX_LINE_CHARS} more characters]"
            body.append(f"{n:6}\t{line}")
        text = "\n".join(body)
        if args.offset > 1 or end < total:
            more = f"; continue with offset={end + 1}" if end < total else ""
            text += f"\n[lines {args.offset}-{end} of {total}{more}]"
        if notes:
            text += "\n[" + "; ".join(notes) + "]"
        return ToolResult(True, text, data={"path": rel(ctx, path), "lines": total})
