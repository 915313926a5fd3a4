"""edit_file: replace a string the model quotes, found exactly or, failing that, with care."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import change
from tools.edit_match import closest_region, curl_quotes, find_matches, reindent
from tools.linenumbers import refuse_line_numbers, strip_line_numbers
from tools.textfile import TextDoc, new_doc
from tools.workspace import Opened, check_not_stale, encode_for, open_path, rel, remember, write_or_explain


class EditFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    old_string: str = Field(description="The exact text to replace, copied from the file without read_file's "
                                        "line-number prefixes; must match one place unless replace_all. Empty "
                                        "to create a file that does not exist.")
    new_string: str = Field(description="The text to put in its place.")
    replace_all: bool = Field(default=False, description="Replace every place old_string matches.")


class EditFileTool(Tool):
    name = "edit_file"
    Args = EditFileArgs
    runs_in_thread = True
    mutates = True

    async def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        with open_path(ctx, args.path, write=True) as target:
            return self._edit(args, ctx, target)

    def _edit(self, args: EditFileArgs, ctx: ToolContext, path: Opened) -> ToolResult:
        if path.is_dir():
            raise ToolError(f"{args.path} is a directory")
        old, new = args.old_string.replace("\r\n", "\n"), args.new_string.replace("\r\n", "\n")
        if not path.exists():
            if old:
                raise ToolError(f"{args.path}: no such file; to create it, call edit_file with an empty old_string "
                                "(or use write_file)")
            refuse_line_numbers(new, "", args.path)
            return self._write(ctx, path, None, new_doc(), new, "created")
        check_not_stale(ctx, path, require_read=True)
        doc = path.read_doc()
        before = doc.text
        if not old:
            if before.strip():
                raise ToolError(f"old_string is empty but {args.path} is not; quote the text to replace, or "
                                "read it and use write_file to replace it whole")
            return self._write(ctx, path, before, doc, new, "edited")
        if old == new:
            raise ToolError("old_string and new_string are the same; nothing to change")
        level, matches = find_matches(before, old)
        if not matches:
            stripped = strip_line_numbers(old)
            if stripped is not None:
                old = stripped
                new = strip_line_numbers(new) or new
                level, matches = find_matches(before, old)
        if not matches:
            raise ToolError(f"old_string not found in {args.path}. The closest region is:\n"
                            f"{closest_region(before, old)}\nRetry with the exact text (without the line numbers).")
        if len(matches) > 1 and not args.replace_all:
            where = ", ".join(str(m.line) for m in matches[:10])
            how = "" if level == "exact" else f" ({level})"
            raise ToolError(f"old_string is ambiguous: it matches {len(matches)} places in {args.path}{how}, at lines "
                            f"{where}; include more surrounding lines to make it unique, or set replace_all")
        refuse_line_numbers(new, before, f"new_string for {args.path}")
        after = before
        for m in sorted(matches, key=lambda m: m.start, reverse=True):
            matched = before[m.start:m.end]
            replacement = new if level == "exact" else curl_quotes(reindent(new, old, matched), matched)
            after = after[:m.start] + replacement + after[m.end:]
        note = "" if level == "exact" else f" (matched {level})"
        return self._write(ctx, path, before, doc, after, "edited", note)

    @staticmethod
    def _write(ctx: ToolContext, path: Opened, before: str | None, doc: TextDoc, after: str, verb: str,
               note: str = "") -> ToolResult:
        data = encode_for(doc, after, path.display)
        ctx.before_change([path.path])
        write_or_explain(path, data)
        remember(ctx, path)
        fc = change(rel(ctx, path.path), before, after)
        return ToolResult(True, f"{verb} {fc.path}{note}\n{fc.diff}", changes=[fc])

