"""search: regex search over the workspace, honouring .gitignore. ripgrep when present, Python otherwise.

What the model is told besides the matches: which secret files were not searched (always, whether or not they
would have matched: naming only matching ones would let a pattern probe their contents), and the files over the
size cap (a log or a minified bundle would flood the answer): ripgrep searches them and names those with matches
it is not shown; the Python fallback does not read them at all (bounded: a sparse 8 GB file is one 8 GB line).
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

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
TOO_BIG = f"matches not shown, over the {MAX_FILE_BYTES // 1024 // 1024} MB size cap"  # ripgrep searched it
NOT_SEARCHED_BIG = f"not searched, over the {MAX_FILE_BYTES // 1024 // 1024} MB size cap"  # the Python fallback
SECRET = "not searched, secret files"
BINARY = "not searched, binary"

Hit = tuple[str, int, str]  # (path, line number, line)
Skips = dict[str, list[str]]  # reason -> paths whose matches the answer leaves out for it


class SearchArgs(ToolArgs):
    pattern: str = Field(description="Regular expression in Rust regex syntax (ripgrep's) to look for.")
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
    start = search_start(ctx, args)
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
                skipped.setdefault(NOT_SEARCHED_BIG, []).append(relative)
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


def regex_error(problems: list[str]) -> str | None:
    """ripgrep's complaint about a pattern, whole (the pattern, the caret under the fault, the reason), written for
    the model: Rust regex syntax is what it must use. None when ripgrep failed for another reason."""
    start = next((i for i, line in enumerate(problems) if "regex parse error" in line), None)
    if start is None:
        return None
    return "invalid regex (Rust regex syntax, as ripgrep reads it):\n" + "\n".join(problems[start + 1:])


def search_start(ctx: ToolContext, args: SearchArgs) -> Path:
    """The file or directory to search; anything else (a FIFO would block the search forever, a device has no
    end) is refused."""
    start = resolve(ctx, args.path, must_exist=True)
    try:
        mode = start.stat().st_mode
    except OSError as exc:
        raise ToolError(f"{args.path}: cannot be searched ({exc.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ToolError(f"{args.path}: not a regular file or directory; search looks only in those")
    return start


# ripgrep's own log (`--debug`) of the secret files our `!` globs kept it from opening: one walk both searches
# and names them (a second `--files` walk doubled the cost of every search). A name may hold a newline: the path
# runs on over line breaks that do not start another log line (a forged one is caught by _exists).
_SECRET_LOG = re.compile(r"^(?:rg: )?DEBUG\|ignore::walk\|[^ ]*: ignoring (?P<path>(?:[^\n]|\n(?!(?:rg: )?DEBUG\|))+?)"
                         r": Ignore\(IgnoreMatch\(Override\(Glob\(Matched\(Glob \{ from: None, original: \"!", re.M)


async def ripgrep_search(rg: str, ctx: ToolContext, args: SearchArgs, skipped: Skips | None = None) -> Found:
    skipped = {} if skipped is None else skipped
    start = search_start(ctx, args)
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
        raise ToolError(regex_error(problems) or f"search failed: {problems[-1].removeprefix('rg: ')}")
    if "DEBUG|" in log:
        secrets = _logged_secrets(ctx, log, "" if target == "." else target + "/", args.glob)
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
    root = os.fsencode(ctx.root)
    files, big = [], []
    start, end = 0, len(out)
    while (nul := out.find(b"\0", start)) >= 0:  # a name may hold newlines, even a blank line; never a NUL
        raw = out[start:nul].removeprefix(b"./")
        stop = out.find(b"\n\n", nul + 1)  # a body's lines are `number:text`, never empty
        stop = end if stop < 0 else stop
        body, start = out[nul + 1:stop], stop + 2
        relative = raw.decode("utf-8", errors="replace")
        if ctx.secret_files.match_relative(relative):  # never opened (the globs): asked again all the same
            continue
        count = body.count(b"\n") + (not body.endswith(b"\n"))
        if b"binary file" in body:  # ripgrep's warning after a match in a binary file is no match
            count = len(_MATCH_LINE.findall(body))
        try:
            size = os.stat(root + b"/" + raw).st_size  # the name's own bytes: a decoded one may not exist
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


def _logged_secrets(ctx: ToolContext, log: str, below: str, glob: str | None) -> list[str]:
    """The secret files named in ripgrep's debug log as kept out by our globs.

    ripgrep applies our globs before its hidden-file rule, so a hidden secret (`.env`) is logged as matched by
    a glob: it is left unnamed, as the walk would have skipped it anyway (and the Python fallback never sees it).
    Only files that exist are named: a file name holding a newline can forge a log line. The model's own glob
    leaves out what it excludes, as in the Python engine.
    """
    out = []
    for match in _SECRET_LOG.finditer(log):
        relative = match.group("path").removeprefix("./")
        if (ctx.secret_files.match_relative(relative) and (not glob or glob_match(relative, glob))
                and not any(part.startswith(".") for part in relative.removeprefix(below).split("/"))
                and _exists(ctx.root / relative)):
            out.append(relative)  # our own globs; the user's --glob leaves its files unnamed
    return out


def _exists(path: Path) -> bool:
    """Does the file the log names exist? ripgrep logs a name that is not UTF-8 with U+FFFD in it: such a name
    is looked for among its directory's entries, decoded the same way (rare: only then is a directory listed)."""
    try:
        os.lstat(path)
        return True
    except (OSError, ValueError):
        if "\ufffd" not in path.name:
            return False
    try:
        names = os.listdir(os.fsencode(path.parent))
    except (OSError, ValueError):
        return False
    return any(name.decode("utf-8", errors="replace") == path.name for name in names)


def path_order(path: str) -> list[str]:
    """The order `rg --sort=path` gives: by path components (`a/b` before `a-b`), as ripgrep walks."""
    return path.removeprefix("./").split("/")


class SearchTool(Tool):
    name = "search"
    Args = SearchArgs
    parallel_safe = True
    # Not in a thread: ripgrep runs in this loop, so cancelling the turn reaches run_rg and kills it; only the
    # Python fallback, which works synchronously, goes to a thread.

    async def run(self, args: SearchArgs, ctx: ToolContext) -> ToolResult:
        rg = ripgrep(ctx.root)
        skipped: Skips = {}
        if rg:
            found = await ripgrep_search(rg, ctx, args, skipped)
        else:
            found = await asyncio.to_thread(python_search, ctx, args, skipped)
        return ToolResult(True, format_hits(found, skipped),
                          data={"hits": found.total, "engine": "rg" if rg else "python",
                                "skipped": {reason: len(paths) for reason, paths in skipped.items()}})
