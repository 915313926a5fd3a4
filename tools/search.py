"""search: regex search over the workspace, honouring .gitignore. ripgrep when present, Python otherwise."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from typing import BinaryIO

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.ripgrep import ripgrep
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
    """ripgrep's exit code, output and log. Both go to in-memory files, not pipes: ripgrep writes its output a
    file at a time and its log a line at a time, and waking a pipe reader for each write cost a third of the
    search on a big tree (hundreds of wake-ups, against one wait for the process)."""
    with _scratch_file() as out, _scratch_file() as log:
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=ctx.root, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=out, stderr=log)
        try:
            await proc.wait()
        except BaseException:  # cancelled (the turn was interrupted): ripgrep must not outlive the call
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        out.seek(0)
        log.seek(0)
        return proc.returncode or 0, out.read(), log.read()


def _scratch_file() -> BinaryIO:
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("duet-rg-log", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()


# ripgrep's own log of what its walk left out (`--debug`): a secret file matched by one of our `!` globs, or a
# file over --max-filesize. One walk both searches and names the skipped files (a second `--files` walk
# doubled the cost of every search).
_SKIP_LOG = re.compile(r"^(?:rg: )?DEBUG\|ignore::walk\|[^ ]*: ignoring (?P<path>.+?): "
                       r"(?:(?P<bytes>\d+) bytes|Ignore\(IgnoreMatch\(Override\(Glob\(Matched\(Glob \{ from: None, "
                       r"original: \"!)", re.M)


async def ripgrep_search(rg: str, ctx: ToolContext, args: SearchArgs,
                         skipped: Skips | None = None) -> list[tuple[str, int, str]]:
    skipped = {} if skipped is None else skipped
    start = resolve(ctx, args.path, must_exist=True)
    target = rel(ctx, start) if start != ctx.root.resolve() else "."
    if start.is_file() and start.stat().st_size > MAX_FILE_BYTES:  # ripgrep searches any file it is given
        skipped.setdefault(TOO_BIG, []).append(target)
        return []
    # No --sort: it makes ripgrep single-threaded. Results are put in path order here instead (path_order).
    common = [rg, "--no-require-git", "--color=never"]
    common += ["--glob", args.glob] if args.glob else []
    cmd = [*common, "--with-filename", "--line-number", "--no-heading", f"--max-filesize={MAX_FILE_BYTES}",
           "--max-columns=2000", "--debug", *ctx.secret_files.rg_globs()]
    cmd += ["--ignore-case"] if args.ignore_case else []
    code, out, err = await _rg([*cmd, "-e", args.pattern, "--", target], ctx)
    log = err.decode("utf-8", errors="replace")
    problems = [line for line in log.splitlines() if "DEBUG|" not in line]
    if code == 2 and not out:
        raise ToolError(f"search failed: {(problems or ['ripgrep failed'])[-1].removeprefix('rg: ')}")
    if "DEBUG|" in log:
        secret = _logged_skips(ctx, log, skipped, "" if target == "." else target + "/")
    else:  # a ripgrep that logs differently: ask for the listing instead
        _, listed, _ = await _rg([*common, "--files", "--", target], ctx)
        secret = _list_skips(ctx, listed, skipped)
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


def _logged_skips(ctx: ToolContext, log: str, skipped: Skips, below: str) -> dict[str, bool]:
    """The secret and oversized files named in ripgrep's debug log, into `skipped`; returns the secret ones.

    ripgrep applies our globs before its hidden-file rule, so a hidden secret (`.env`) is logged as matched by
    a glob: it is left unnamed, as the walk would have skipped it anyway (and the Python fallback never sees it).
    """
    secrets, big = [], []
    for match in _SKIP_LOG.finditer(log):
        relative = match.group("path").removeprefix("./")
        if match.group("bytes") is not None:
            big.append(relative)
        elif ctx.secret_files.match_relative(relative) and not any(
                part.startswith(".") for part in relative.removeprefix(below).split("/")):
            secrets.append(relative)  # our own globs; the user's --glob leaves its files unnamed
    _add_skips(skipped, secrets, big)
    return dict.fromkeys(secrets, True)


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
    _add_skips(skipped, secrets, big)
    return secret


def _add_skips(skipped: Skips, secrets: list[str], big: list[str]) -> None:
    """Each reason's paths in path order, the reasons in the order of their first path, as a walk of the sorted
    tree would meet them (only the few skipped paths are sorted, never the whole listing)."""
    lists = [(reason, sorted(paths, key=path_order)) for reason, paths in ((SECRET, secrets), (TOO_BIG, big))
             if paths]
    for reason, paths in sorted(lists, key=lambda entry: path_order(entry[1][0])):
        skipped.setdefault(reason, []).extend(paths)


def path_order(path: str) -> list[str]:
    """The order `rg --sort=path` gives: by path components (`a/b` before `a-b`), as ripgrep walks."""
    return path.removeprefix("./").split("/")


class SearchTool(Tool):
    name = "search"
    Args = SearchArgs
    runs_in_thread = True

    async def run(self, args: SearchArgs, ctx: ToolContext) -> ToolResult:
        rg = ripgrep()
        skipped: Skips = {}
        hits = await ripgrep_search(rg, ctx, args, skipped) if rg else python_search(ctx, args, skipped)
        return ToolResult(True, format_hits(hits, skipped),
                          data={"hits": len(hits), "engine": "rg" if rg else "python",
                                "skipped": {reason: len(paths) for reason, paths in skipped.items()}})
