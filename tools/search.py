"""search: regex search over the workspace, honouring .gitignore. ripgrep when present, Python otherwise."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.walk import glob_match, walk_files
from tools.workspace import is_binary, is_secret_path, rel, resolve

MAX_HITS = 200
MAX_LINE = 300
MAX_FILE_BYTES = 4 * 1024 * 1024


class SearchArgs(ToolArgs):
    pattern: str = Field(description="Regular expression (Rust/Python syntax) to look for.")
    path: str = Field(default=".", description="Directory or file to search, relative to the workspace root.")
    glob: str | None = Field(default=None, description="Only files whose path matches this glob, e.g. '*.py'.")
    ignore_case: bool = Field(default=False, description="Match case-insensitively.")


def format_hits(hits: list[tuple[str, int, str]]) -> str:
    shown = hits[:MAX_HITS]
    lines = [f"{p}:{n}: {t[:MAX_LINE].rstrip()}" for p, n, t in shown]
    if len(hits) > MAX_HITS:
        lines.append(f"[{len(hits) - MAX_HITS} more matches not shown; narrow the pattern, path or glob]")
    return "\n".join(lines) if lines else "no matches"


def python_search(ctx: ToolContext, args: SearchArgs) -> list[tuple[str, int, str]]:
    """The same results ripgrep gives, for machines without it."""
    flags = re.IGNORECASE if args.ignore_case else 0
    try:
        regex = re.compile(args.pattern, flags)
    except re.error as exc:
        raise ToolError(f"invalid regex: {exc}") from None
    start = resolve(ctx, args.path, must_exist=True)
    files = [start] if start.is_file() else walk_files(ctx.root, start)
    hits: list[tuple[str, int, str]] = []
    for path in files:
        relative = rel(ctx, path)
        if (args.glob and not glob_match(relative, args.glob)) or is_secret_path(path):
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if is_binary(data):
            continue
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if regex.search(line):
                hits.append((relative, n, line))
                if len(hits) > MAX_HITS:
                    return hits
    return hits


async def ripgrep_search(rg: str, ctx: ToolContext, args: SearchArgs) -> list[tuple[str, int, str]]:
    start = resolve(ctx, args.path, must_exist=True)
    cmd = [rg, "--with-filename", "--line-number", "--no-heading", "--color=never", "--no-require-git", "--sort=path",
           f"--max-filesize={MAX_FILE_BYTES}", "--max-columns=2000"]
    cmd += ["--ignore-case"] if args.ignore_case else []
    if args.glob:
        cmd += ["--glob", args.glob]
    target = rel(ctx, start) if start != ctx.root.resolve() else "."
    cmd += ["-e", args.pattern, "--", target]
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ctx.root, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode == 2 and not out:
        raise ToolError(f"search failed: {err.decode(errors='replace').strip().splitlines()[-1]}")
    hits: list[tuple[str, int, str]] = []
    for line in out.decode("utf-8", errors="replace").splitlines():
        path, _, rest = line.partition(":")
        number, _, text = rest.partition(":")
        if number.isdigit() and not is_secret_path(Path(path)):
            hits.append((Path(path).as_posix().removeprefix("./"), int(number), text))
    return hits


class SearchTool(Tool):
    name = "search"
    description = "Search file contents with a regex. Results are 'path:line: text', capped."
    Args = SearchArgs

    async def run(self, args: SearchArgs, ctx: ToolContext) -> ToolResult:
        rg = shutil.which("rg")
        hits = await ripgrep_search(rg, ctx, args) if rg else python_search(ctx, args)
        return ToolResult(True, format_hits(hits), data={"hits": len(hits), "engine": "rg" if rg else "python"})
