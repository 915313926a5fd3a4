"""search: regex search over the workspace, honouring .gitignore. ripgrep when present, Python otherwise."""

from __future__ import annotations

import asyncio
import os
import re
import shutil

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.walk import glob_match, walk_files
from tools.workspace import is_binary, rel, resolve

MAX_HITS = 200
MAX_LINE = 300
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_SKIPS_NAMED = 10
TOO_BIG = f"over the {MAX_FILE_BYTES // 1024 // 1024} MB size cap"
SECRET = "secret files"
BINARY = "binary"


class SearchArgs(ToolArgs):
    pattern: str = Field(description="Regular expression (Rust/Python syntax) to look for.")
    path: str = Field(default=".", description="Directory or file to search, relative to the workspace root.")
    glob: str | None = Field(default=None, description="Only files whose path matches this glob, e.g. '*.py'.")
    ignore_case: bool = Field(default=False, description="Match case-insensitively.")


Skips = dict[str, list[str]]  # reason -> paths not searched for it


def format_hits(hits: list[tuple[str, int, str]], skipped: Skips | None = None) -> str:
    shown = hits[:MAX_HITS]
    lines = [f"{p}:{n}: {t[:MAX_LINE].rstrip()}" for p, n, t in shown]
    if len(hits) > MAX_HITS:
        lines.append(f"[{len(hits) - MAX_HITS} more matches not shown; narrow the pattern, path or glob]")
    text = "\n".join(lines) if lines else "no matches"
    for reason, paths in (skipped or {}).items():
        names = ", ".join(paths[:MAX_SKIPS_NAMED]) + (f" and {len(paths) - MAX_SKIPS_NAMED} more"
                                                      if len(paths) > MAX_SKIPS_NAMED else "")
        text += f"\n[not searched, {reason}: {names}]"
    return text


def python_search(ctx: ToolContext, args: SearchArgs, skipped: Skips | None = None) -> list[tuple[str, int, str]]:
    """The same results ripgrep gives, for machines without it; files not searched go in `skipped`."""
    skipped = {} if skipped is None else skipped
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
        if args.glob and not glob_match(relative, args.glob):
            continue
        if ctx.secret_files.match_relative(relative):
            skipped.setdefault(SECRET, []).append(relative)
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped.setdefault(TOO_BIG, []).append(relative)
                continue
            data = path.read_bytes()
        except OSError as exc:
            skipped.setdefault(f"unreadable ({exc.strerror})", []).append(relative)
            continue
        if is_binary(data):
            skipped.setdefault(BINARY, []).append(relative)
            continue
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if regex.search(line):
                hits.append((relative, n, line))
                if len(hits) > MAX_HITS:
                    return hits
    return hits


async def _rg(cmd: list[str], ctx: ToolContext) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ctx.root, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out, err


async def ripgrep_search(rg: str, ctx: ToolContext, args: SearchArgs,
                         skipped: Skips | None = None) -> list[tuple[str, int, str]]:
    skipped = {} if skipped is None else skipped
    start = resolve(ctx, args.path, must_exist=True)
    # No --sort: it makes ripgrep single-threaded. Results are put in path order here instead (path_order).
    common = [rg, "--no-require-git", "--color=never"]
    common += ["--glob", args.glob] if args.glob else []
    target = rel(ctx, start) if start != ctx.root.resolve() else "."
    cmd = [*common, "--with-filename", "--line-number", "--no-heading", f"--max-filesize={MAX_FILE_BYTES}",
           "--max-columns=2000", *ctx.secret_files.rg_globs()]
    cmd += ["--ignore-case"] if args.ignore_case else []
    cmd += ["-e", args.pattern, "--", target]
    # ripgrep skips secret files unopened (the globs) and big files silently: list both so the answer can say so.
    # Both walks start at once; the listing (the quicker) is checked while the search is still running.
    search = asyncio.ensure_future(_rg(cmd, ctx))
    try:
        _, listed, _ = await _rg([*common, "--files", "--", target], ctx)
    except BaseException:
        search.cancel()
        raise
    secret = _list_skips(ctx, listed, skipped)
    code, out, err = await search
    if code == 2 and not out:
        raise ToolError(f"search failed: {err.decode(errors='replace').strip().splitlines()[-1]}")
    hits: list[tuple[str, int, str]] = []
    for line in out.decode("utf-8", errors="replace").splitlines():
        path, _, rest = line.partition(":")
        number, _, text = rest.partition(":")
        relative = path.removeprefix("./")
        is_secret = secret.get(relative)
        if is_secret is None:
            is_secret = secret[relative] = ctx.secret_files.match_relative(relative)
        if number.isdigit() and not is_secret:
            hits.append((relative, int(number), text))
    hits.sort(key=lambda hit: path_order(hit[0]))  # stable: each file's lines stay in ripgrep's (line) order
    return hits


def _list_skips(ctx: ToolContext, listed: bytes, skipped: Skips) -> dict[str, bool]:
    """Secret and oversized files of ripgrep's `--files` listing into `skipped` (in path order); returns
    whether each listed path is secret, so hits need not ask again."""
    root = str(ctx.root)
    secret: dict[str, bool] = {}  # per path, asked once: a file may have hundreds of hits
    secrets, big = [], []
    for name in listed.decode("utf-8", errors="replace").splitlines():
        relative = name.removeprefix("./")  # ripgrep prints '/'-separated paths relative to its target
        secret[relative] = is_secret = ctx.secret_files.match_relative(relative)
        if is_secret:
            secrets.append(relative)
        else:
            try:
                if os.stat(f"{root}/{relative}").st_size > MAX_FILE_BYTES:
                    big.append(relative)
            except OSError:
                continue
    # Only the few skipped paths are sorted, not the whole listing: the order is the same, and each reason
    # comes in the order of its first path, as a walk of the sorted listing would give it.
    lists = [(reason, sorted(paths, key=path_order)) for reason, paths in ((SECRET, secrets), (TOO_BIG, big))
             if paths]
    for reason, paths in sorted(lists, key=lambda entry: path_order(entry[1][0])):
        skipped.setdefault(reason, []).extend(paths)
    return secret


def path_order(path: str) -> list[str]:
    """The order `rg --sort=path` gives: by path components (`a/b` before `a-b`), as ripgrep walks."""
    return path.removeprefix("./").split("/")


class SearchTool(Tool):
    name = "search"
    Args = SearchArgs
    runs_in_thread = True

    async def run(self, args: SearchArgs, ctx: ToolContext) -> ToolResult:
        rg = shutil.which("rg")
        skipped: Skips = {}
        hits = await ripgrep_search(rg, ctx, args, skipped) if rg else python_search(ctx, args, skipped)
        return ToolResult(True, format_hits(hits, skipped),
                          data={"hits": len(hits), "engine": "rg" if rg else "python",
                                "skipped": {reason: len(paths) for reason, paths in skipped.items()}})
