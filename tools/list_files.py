"""list_files: the workspace's files (gitignored and hidden ones left out), optionally filtered by a glob."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolResult
from tools.walk import glob_match, walk_files
from tools.workspace import rel, resolve

MAX_FILES = 500


class ListFilesArgs(ToolArgs):
    glob: str | None = Field(default=None, description="Only paths matching this glob, e.g. '**/*.py' or '*.md'.")
    path: str = Field(default=".", description="Directory to list, relative to the workspace root.")


class ListFilesTool(Tool):
    name = "list_files"
    Args = ListFilesArgs
    runs_in_thread = True
    parallel_safe = True

    async def run(self, args: ListFilesArgs, ctx: ToolContext) -> ToolResult:
        start = resolve(ctx, args.path, must_exist=True)
        paths = []
        for path in walk_files(ctx.root, start):
            relative = rel(ctx, path)
            if args.glob and not glob_match(relative, args.glob):
                continue
            # Listed, so the model knows the file exists, but marked: no tool will read it.
            paths.append(f"{relative}  [secret file: not readable]" if ctx.secret_files.match(relative) else relative)
        shown = paths[:MAX_FILES]
        text = "\n".join(shown) if shown else "no files"
        if len(paths) > MAX_FILES:
            text += f"\n[{len(paths) - MAX_FILES} more files not shown; narrow with path or glob]"
        return ToolResult(True, text, data={"count": len(paths)})
