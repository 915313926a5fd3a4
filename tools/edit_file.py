"""edit_file: exact string replacement, with a whitespace-tolerant fallback and a helpful miss."""

from __future__ import annotations

import difflib

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import change
from tools.workspace import atomic_write, check_not_stale, read_text, rel, remember, resolve


class EditFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    old_string: str = Field(description="Exact text to replace; must match once unless replace_all.")
    new_string: str = Field(description="Replacement text.")
    replace_all: bool = Field(default=False, description="Replace every occurrence.")


def fuzzy_span(text: str, old: str) -> tuple[int, int] | None:
    """Character span of the unique run of lines equal to `old`'s lines ignoring surrounding whitespace."""
    lines = text.splitlines(keepends=True)
    want = [line.strip() for line in old.strip("\n").splitlines()]
    if not want or not any(want):
        return None
    got = [line.strip() for line in lines]
    hits = [i for i in range(len(lines) - len(want) + 1) if got[i:i + len(want)] == want]
    if len(hits) != 1:
        return None
    start = sum(len(line) for line in lines[:hits[0]])
    end = start + sum(len(line) for line in lines[hits[0]:hits[0] + len(want)])
    if lines[hits[0] + len(want) - 1].endswith("\n") and not old.endswith("\n"):
        end -= 1
    return start, end


def reindent(new: str, old: str, matched: str) -> str:
    """Shift `new` by the indentation the model got wrong in `old` (first non-blank line decides)."""
    def indent(s: str) -> str:
        first = next((line for line in s.splitlines() if line.strip()), "")
        return first[: len(first) - len(first.lstrip())]

    have, want = indent(old), indent(matched)
    if have == want:
        return new
    out = []
    for line in new.splitlines(keepends=True):
        out.append(want + line[len(have):] if line.startswith(have) and line.strip() else line)
    return "".join(out)


def closest_region(text: str, old: str, context: int = 2) -> str:
    """The numbered lines of `text` that look most like `old`, to help the model retry."""
    lines = text.splitlines()
    want = old.strip("\n").splitlines() or [old]
    size = len(want)
    best, best_at = 0.0, 0
    joined = "\n".join(want)
    for i in range(max(1, len(lines) - size + 1)):
        ratio = difflib.SequenceMatcher(None, "\n".join(lines[i:i + size]), joined, autojunk=False).quick_ratio()
        if ratio > best:
            best, best_at = ratio, i
    lo, hi = max(0, best_at - context), min(len(lines), best_at + size + context)
    return "\n".join(f"{n + 1:6}\t{lines[n]}" for n in range(lo, hi))


class EditFileTool(Tool):
    name = "edit_file"
    description = (
        "Replace old_string with new_string in a file. old_string must match exactly once "
        "(include enough surrounding lines) unless replace_all is true."
    )
    Args = EditFileArgs
    mutates = True

    async def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        path = resolve(ctx, args.path, must_exist=True, write=True)
        check_not_stale(ctx, path, args.path, require_read=False)
        if args.old_string == args.new_string:
            raise ToolError("old_string and new_string are the same; nothing to change")
        if not args.old_string:
            raise ToolError("old_string is empty; use write_file to create a file")
        before = read_text(path)
        count = before.count(args.old_string)
        note = ""
        if count == 1 or (count > 1 and args.replace_all):
            after = before.replace(args.old_string, args.new_string)
        elif count > 1:
            raise ToolError(f"old_string matches {count} times in {args.path}; add surrounding lines to make it "
                            "unique, or set replace_all")
        else:
            span = fuzzy_span(before, args.old_string)
            if span is None:
                raise ToolError(f"old_string not found in {args.path}. The closest region is:\n"
                                f"{closest_region(before, args.old_string)}\nRetry with the exact text.")
            start, end = span
            new = reindent(args.new_string, args.old_string, before[start:end])
            after = before[:start] + new + before[end:]
            note = " (matched ignoring whitespace differences)"
        ctx.before_change([path])
        atomic_write(path, after)
        remember(ctx, path)
        fc = change(rel(ctx, path), before, after)
        return ToolResult(True, f"edited {fc.path}{note}\n{fc.diff}", changes=[fc])
