"""write_file: create or overwrite a file, atomically, keeping an existing file's encoding and line endings."""

from __future__ import annotations

from pydantic import Field

from tools.base import Preview, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.effects import Effect, Write
from tools.fileplan import FilePlan, check_previewed, diff_preview
from tools.linenumbers import refuse_line_numbers
from tools.textfile import NotTextError, decode, new_doc
from tools.workspace import Opened, check_not_stale, encode_for, open_path, rel, remember, write_or_explain


class WriteFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    content: str = Field(description="The complete new content of the file.")


def plan_write(args: WriteFileArgs, ctx: ToolContext, target: Opened) -> FilePlan:
    """The bytes `args` would put in `target` (its encoding and line endings kept), writing nothing."""
    if target.is_dir():
        raise ToolError(f"{args.path} is a directory")
    check_not_stale(ctx, target, require_read=True)
    data = target.read_bytes() if target.exists() else None
    try:
        doc = decode(data) if data is not None else new_doc()
    except NotTextError as exc:
        raise ToolError(f"{target.path.name}: {exc}; not shown") from None
    before = doc.text if data is not None else None
    content = args.content.replace("\r\n", "\n")
    refuse_line_numbers(content, before or "", args.path)
    return FilePlan(rel(ctx, target.path), data, encode_for(doc, content, args.path), before, content)


class WriteFileTool(Tool):
    name = "write_file"
    Args = WriteFileArgs
    runs_in_thread = True
    mutates = True

    def effect(self, args: WriteFileArgs, ctx: ToolContext) -> Effect:
        return Write((args.path,))

    def preview(self, args: WriteFileArgs, ctx: ToolContext) -> Preview:
        with open_path(ctx, args.path, write=True) as target:
            return diff_preview([plan_write(args, ctx, target)])

    async def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        return await self.apply(args, ctx, None)

    async def apply(self, args: WriteFileArgs, ctx: ToolContext, previewed: Preview | None) -> ToolResult:
        with open_path(ctx, args.path, write=True) as target:
            plan = plan_write(args, ctx, target)
            check_previewed([plan], previewed)
            assert plan.after is not None
            ctx.before_change([target.path])
            write_or_explain(target, plan.after)
            remember(ctx, target)
        fc = plan.change()
        verb = "created" if plan.before is None else "overwrote"
        content = plan.after_text or ""
        return ToolResult(True, f"{verb} {fc.path} ({len(content.splitlines())} lines)", changes=[fc])
