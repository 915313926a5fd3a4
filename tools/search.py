"""search: regex search over the workspace, honouring .gitignore. ripgrep when present, Python otherwise.

What the model is told besides the matches: which secret files were not searched (always, whether or not they
would have matched: naming only matching ones would let a pattern probe their contents), and which files over
the size cap had matches it is not shown (a log or a minified bundle would flood the answer).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.ripgrep import ripgrep, run_rg
from tools.walk import glob_match, walk_files
from tools.workspace import is_binary, rel, resolve

MAX_HITS = 200
MAX_LINE = 300
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_PER_FILE = 5000  # matching lines ripgrep reports from one file: bounds what a pathological file costs
MAX_SKIPS_NAMED = 10
TOO_BIG = f"matches not shown, over the {MAX_FILE_BYTES // 1024 // 1024} MB size cap"
SECRET = "not searched, secret files"
BINARY = "not searched, binary"

Hit = tuple[str, int, str]  # (path, line number, line)
Skips = dict[str, list[str]]  # reason -> paths whose matches the answer leaves out for it


class SearchArgs(ToolArgs):
    pattern: str = Field(description="Regular expression (Rust/Python syntax) to look for.")
    path: str = Field(default=".", description="Directory or file to search, relative to the workspace root.")
    glob: str | None = Field(default=None, description="Only files whose path matches this glob, e.g. '*.py'.")
    ignore_case: bool = Field(default=False, description="Match case-insensitively.")


@dataclass
class Found:
    """The first matches in path order (MAX_HITS + 1 at most: enough to show MAX_HITS and say there are more),
    and how many there are in all (at least that many when `more` is set: counting stopped)."""

    hits: list[Hit]
    total: int
    more: bool = False


def format_hits(found: Found, skipped: Skips | None = None) -> str:
    lines = [f"{p}:{n}: {t[:MAX_LINE].rstrip()}" for p, n, t in found.hits[:MAX_HITS]]
    if found.total > MAX_HITS:
        lines.append(f"[{'at least ' if found.more else ''}{found.total - MAX_HITS} more matches not shown; "
                     "narrow the pattern, path or glob]")
    text = "\n".join(lines) if lines else "no matches"
    for reason, paths in (skipped or {}).items():
        names = ", ".join(paths[:MAX_SKIPS_NAMED]) + (f" and {len(paths) - MAX_SKIPS_NAMED} more"
                                                      if len(paths) > MAX_SKIPS_NAMED else "")
        text += f"\n[{reason}: {names}]"
    return text


def python_search(ctx: ToolContext, args: SearchArgs, skipped: Skips | None = None) -> Found:
    """The same results ripgrep gives, for machines without it; files left out go in `skipped`."""
    skipped = {} if skipped is None else skipped
    flags = re.IGNORECASE if args.ignore_case else 0
    try:
        regex = re.compile(args.pattern, flags)
    except re.error as exc:
        raise ToolError(f"invalid regex: {exc}") from None
    start = resolve(ctx, args.path, must_exist=True)
    files = [start] if start.is_file() else walk_files(ctx.root, start)
    hits: list[Hit] = []
    for path in files:
        relative = rel(ctx, path)
        if args.glob and not glob_match(relative, args.glob):
            continue
        if ctx.secret_files.match_relative(relative):
            skipped.setdefault(SECRET, []).append(relative)
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                if _big_file_matches(path, regex):
                    skipped.setdefault(TOO_BIG, []).append(relative)
                continue
            data = path.read_bytes()
        except OSError as exc:
            skipped.setdefault(f"not searched, unreadable ({exc.strerror})", []).append(relative)
            continue
        if is_binary(data):
            skipped.setdefault(BINARY, []).append(relative)
            continue
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if regex.search(line):
                hits.append((relative, n, line))
                if len(hits) > MAX_HITS:
                    return Found(hits, len(hits), more=True)
    return Found(hits, len(hits))


def _big_file_matches(path: os.PathLike[str], regex: re.Pattern[str]) -> bool:
    """Does a file over the size cap hold a match (read a line at a time; a binary file is not text)?"""
    with open(path, "rb") as handle:
        if is_binary(handle.read(8192)):
            return False
        handle.seek(0)
        return any(regex.search(line.decode("utf-8", errors="replace")) for line in handle)


# ripgrep's own log (`--debug`) of the secret files our `!` globs kept it from opening: one walk both searches
# and names them (a second `--files` walk doubled the cost of every search).
_SECRET_LOG = re.compile(r"^(?:rg: )?DEBUG\|ignore::walk\|[^ ]*: ignoring (?P<path>.+?): Ignore\(IgnoreMatch\("
                         r"Override\(Glob\(Matched\(Glob \{ from: None, original: \"!", re.M)


async def ripgrep_search(rg: str, ctx: ToolContext, args: SearchArgs, skipped: Skips | None = None) -> Found:
    skipped = {} if skipped is None else skipped
    start = resolve(ctx, args.path, must_exist=True)
    target = rel(ctx, start) if start != ctx.root.resolve() else "."
    # No --sort: it makes ripgrep single-threaded; path order is restored here. No --max-filesize: it costs a
    # stat of every file; the few files with matches are measured instead. --no-ignore-dot: the files git
    # ignores are left out (.gitignore, .git/info/exclude), as everywhere else in Duet, not ripgrep's own
    # .ignore files (whose lookup cost a stat of each directory, twice).
    common = [rg, "--no-require-git", "--no-ignore-dot", "--color=never"]
    common += ["--glob", args.glob] if args.glob else []
    cmd = [*common, "--null", "--heading", "--with-filename", "--line-number", f"--max-count={MAX_PER_FILE}",
           "--max-columns=2000", "--debug", *ctx.secret_files.rg_globs()]
    cmd += ["--ignore-case"] if args.ignore_case else []
    code, out, err = await run_rg([*cmd, "-e", args.pattern, "--", target], ctx.root)
    log = err.decode("utf-8", errors="replace")
    if code == 2 and not out:
        problems = [line for line in log.splitlines() if "DEBUG|" not in line] or ["ripgrep failed"]
        raise ToolError(f"search failed: {problems[-1].removeprefix('rg: ')}")
    if "DEBUG|" in log:
        secrets = _logged_secrets(ctx, log, "" if target == "." else target + "/")
    else:  # a ripgrep that logs differently: ask for the listing instead
        _, listed, _ = await run_rg([*common, "--null", "--files", "--", target], ctx.root)
        secrets = [p for name in listed.split(b"\0") if name
                   and ctx.secret_files.match_relative(p := name.decode("utf-8", errors="replace").removeprefix("./"))]
    found, big = _hits(ctx, out)
    lists = [(reason, sorted(paths, key=path_order)) for reason, paths in ((SECRET, secrets), (TOO_BIG, big))
             if paths]
    for reason, paths in sorted(lists, key=lambda entry: path_order(entry[1][0])):
        skipped.setdefault(reason, []).extend(paths)  # each reason where its first path falls in a walk
    return found


def _hits(ctx: ToolContext, out: bytes) -> tuple[Found, list[str]]:
    """ripgrep's `--heading --null` output (per file: `path NUL`, its `line:text` lines, a blank line) as matches
    in path order, and the files over the size cap that matched. Files are split apart and their lines counted
    in C; only the lines shown are decoded, so a pattern with 100,000 matches costs little more than one with 10.
    """
    root = str(ctx.root)
    files, big = [], []
    for chunk in out.split(b"\n\n"):
        raw, nul, body = chunk.partition(b"\0")
        if not nul:
            continue
        relative = raw.decode("utf-8", errors="replace").removeprefix("./")
        if ctx.secret_files.match_relative(relative):  # never opened (the globs): asked again all the same
            continue
        count = body.count(b"\n") + (not body.endswith(b"\n"))
        if b"binary file" in body:  # ripgrep's warning after a match in a binary file is no match
            count = len(_MATCH_LINE.findall(body))
        try:
            size = os.stat(f"{root}/{relative}").st_size
        except OSError:
            size = 0
        if size > MAX_FILE_BYTES:
            big.append(relative)
        elif count:
            files.append((path_order(relative), relative, body, count))
    files.sort()
    hits: list[Hit] = []
    for _, relative, body, _count in files:
        for line in body.split(b"\n", MAX_HITS + 1 - len(hits))[:MAX_HITS + 1 - len(hits)]:
            number, colon, text = line.partition(b":")
            if colon and number.isdigit():
                hits.append((relative, int(number), text.decode("utf-8", errors="replace")))
        if len(hits) > MAX_HITS:
            break
    total = sum(count for *_, count in files)
    return Found(hits, total, more=any(count >= MAX_PER_FILE for *_, count in files)), big


_MATCH_LINE = re.compile(rb"^\d+:", re.M)


def _logged_secrets(ctx: ToolContext, log: str, below: str) -> list[str]:
    """The secret files named in ripgrep's debug log as kept out by our globs.

    ripgrep applies our globs before its hidden-file rule, so a hidden secret (`.env`) is logged as matched by
    a glob: it is left unnamed, as the walk would have skipped it anyway (and the Python fallback never sees it).
    """
    out = []
    for match in _SECRET_LOG.finditer(log):
        relative = match.group("path").removeprefix("./")
        if ctx.secret_files.match_relative(relative) and not any(
                part.startswith(".") for part in relative.removeprefix(below).split("/")):
            out.append(relative)  # our own globs; the user's --glob leaves its files unnamed
    return out


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
        found = await ripgrep_search(rg, ctx, args, skipped) if rg else python_search(ctx, args, skipped)
        return ToolResult(True, format_hits(found, skipped),
                          data={"hits": found.total, "engine": "rg" if rg else "python",
                                "skipped": {reason: len(paths) for reason, paths in skipped.items()}})
