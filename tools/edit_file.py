"""edit_file: replace a string the model quotes, found exactly or, failing that, with care."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from tools.base import Preview, Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.edit_match import closest_region, curl_quotes, find_matches, reindent
from tools.effects import Effect, Write
from tools.fileplan import FilePlan, check_previewed, diff_preview
from tools.linenumbers import refuse_line_numbers, strip_line_numbers
from tools.textfile import NotTextError, TextDoc, decode, new_doc
from tools.workspace import Opened, check_not_stale, encode_for, open_path, rel, remember, write_or_explain


class EditFileArgs(ToolArgs):
    path: str = Field(description="File path relative to the workspace root.")
    old_string: str = Field(description="The exact text to replace, copied from the file without read_file's "
                                        "line-number prefixes; must match one place unless replace_all. Empty "
                                        "to create a file that does not exist.")
    new_string: str = Field(description="The text to put in its place.")
    replace_all: bool = Field(default=False, description="Replace every place old_string matches.")


@dataclass(frozen=True)
class EditPlan:
    """What an edit will write, and how its result describes it."""

    file: FilePlan
    verb: str
    note: str = ""


def plan_edit(args: EditFileArgs, ctx: ToolContext, path: Opened) -> EditPlan:
    """The bytes `args` would make of the file `path` (edit_file's whole matching ladder), writing nothing;
    ToolError when the edit cannot apply. Both the approval preview and the run use it."""
    if path.is_dir():
        raise ToolError(f"{args.path} is a directory")
    old, new = args.old_string.replace("\r\n", "\n"), args.new_string.replace("\r\n", "\n")
    if not path.exists():
        if old:
            raise ToolError(f"{args.path}: no such file; to create it, call edit_file with an empty old_string "
                            "(or use write_file)")
        refuse_line_numbers(new, "", args.path)
        return _planned(ctx, path, None, new_doc(), new, "created")
    check_not_stale(ctx, path, require_read=True)
    data = path.read_bytes()
    try:
        doc = decode(data)
    except NotTextError as exc:
        raise ToolError(f"{path.path.name}: {exc}; not shown") from None
    before = doc.text
    if not old:
        if before.strip():
            raise ToolError(f"old_string is empty but {args.path} is not; quote the text to replace, or "
                            "read it and use write_file to replace it whole")
        return _planned(ctx, path, data, doc, new, "edited")
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
    return _planned(ctx, path, data, doc, after, "edited", note)


def _planned(ctx: ToolContext, path: Opened, data: bytes | None, doc: TextDoc, after: str, verb: str,
             note: str = "") -> EditPlan:
    return EditPlan(FilePlan(rel(ctx, path.path), data, encode_for(doc, after, path.display),
                             None if data is None else doc.text, after), verb, note)


class EditFileTool(Tool):
    name = "edit_file"
    Args = EditFileArgs
    runs_in_thread = True
    mutates = True

    def effect(self, args: EditFileArgs, ctx: ToolContext) -> Effect:
        return Write((args.path,))

    def preview(self, args: EditFileArgs, ctx: ToolContext) -> Preview:
        with open_path(ctx, args.path, write=True) as target:
            return diff_preview([plan_edit(args, ctx, target).file])

    async def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        return await self.apply(args, ctx, None)

    async def apply(self, args: EditFileArgs, ctx: ToolContext, previewed: Preview | None) -> ToolResult:
        with open_path(ctx, args.path, write=True) as target:
            plan = plan_edit(args, ctx, target)
            check_previewed([plan.file], previewed)
            assert plan.file.after is not None
            ctx.before_change([target.path])
            write_or_explain(target, plan.file.after)
            remember(ctx, target)
        fc = plan.file.change()
        return ToolResult(True, f"{plan.verb} {fc.path}{plan.note}\n{fc.diff}", changes=[fc])
