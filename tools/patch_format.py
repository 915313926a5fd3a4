"""Parsing and applying Codex's patch format, entirely in memory.

    *** Begin Patch
    *** Add File: path        (then + lines: the whole file; an existing file is overwritten)
    *** Update File: path     (optional *** Move to: path; then hunks: '@@' or '@@ anchor', then
                               ' ' context, '-' removed and '+' added lines; '*** End of File' ends
                               a hunk that must match the end of the file)
    *** Delete File: path
    *** End Patch

Parsing is strict: a line that fits nowhere is an error naming its line in the patch. Markers may carry
surrounding spaces. Applying follows Codex: an `@@ anchor` must be found (after the previous hunk), a hunk
with no context or removed lines is appended at the end of the file, the hunk's lines are found with the
ladder in tools.matching, and an updated file always ends with a line break.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tools.matching import find_lines

BEGIN, END = "*** Begin Patch", "*** End Patch"
ADD, DELETE, UPDATE, MOVE = "*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: "
END_OF_FILE = "*** End of File"


class PatchError(ValueError):
    """A patch that cannot be parsed or applied; the message is written for the model."""


@dataclass
class Hunk:
    anchor: str | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)  # (' ' | '-' | '+', text)
    at_eof: bool = False

    @property
    def old(self) -> list[str]:
        return [t for k, t in self.lines if k in " -"]

    @property
    def new(self) -> list[str]:
        return [t for k, t in self.lines if k in " +"]


@dataclass
class FileOp:
    kind: Literal["add", "update", "delete"]
    path: str
    line: int
    move_to: str | None = None
    content: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)


def _unwrap(lines: list[str]) -> tuple[list[str], int]:
    """The patch lines without a shell heredoc wrapper (<<'EOF' ... EOF), and how many lines it took."""
    if len(lines) >= 4 and lines[0].strip() in ("<<EOF", "<<'EOF'", '<<"EOF"') and lines[-1].strip().endswith("EOF"):
        return lines[1:-1], 1
    return lines, 0


def parse_patch(text: str) -> list[FileOp]:
    """The file operations of a patch, or PatchError naming the offending line (1 = '*** Begin Patch')."""
    lines, skipped = _unwrap(text.strip().splitlines())
    if not lines or lines[0].strip() != BEGIN:
        raise PatchError(f"the first line of the patch must be '{BEGIN}'")
    if len(lines) < 2 or lines[-1].strip() != END:
        raise PatchError(f"the last line of the patch must be '{END}'")
    body = lines[1:-1]
    ops: list[FileOp] = []
    i = 0
    while i < len(body):
        number = i + 2 + skipped
        header = body[i].strip()
        if header.startswith(ADD):
            op = FileOp("add", header[len(ADD):].strip(), number)
            i += 1
            while i < len(body) and body[i].startswith("+"):
                op.content.append(body[i][1:])
                i += 1
        elif header.startswith(DELETE):
            op = FileOp("delete", header[len(DELETE):].strip(), number)
            i += 1
        elif header.startswith(UPDATE):
            op = FileOp("update", header[len(UPDATE):].strip(), number)
            i = _parse_update(body, i + 1, op, skipped)
        else:
            raise PatchError(f"line {number}: {body[i]!r} is not a file header; expected '{ADD}path', "
                             f"'{UPDATE}path' or '{DELETE}path'")
        if not op.path:
            raise PatchError(f"line {number}: the file header has no path")
        ops.append(op)
    if not ops:
        raise PatchError("the patch changes no files")
    return ops


def _parse_update(body: list[str], i: int, op: FileOp, skipped: int) -> int:
    """Read an update's Move to line and hunks from body[i]; returns the index after them."""
    if i < len(body) and body[i].strip().startswith(MOVE):
        op.move_to = body[i].strip()[len(MOVE):].strip()
        i += 1
    while i < len(body):
        line = body[i]
        if not line.strip() and not (op.hunks and not op.hunks[-1].at_eof):
            i += 1  # blank lines before the first hunk or after an end-of-file hunk
            continue
        if line.startswith("*") and line.strip() != END_OF_FILE:
            break  # the next file header
        number = i + 2 + skipped
        if line.strip() == "@@" or line.startswith("@@ "):
            anchor = line[3:] if line.startswith("@@ ") else ""
            op.hunks.append(Hunk(anchor=anchor if anchor.strip() else None))
            i += 1
            continue
        if line.strip() == END_OF_FILE:
            if not op.hunks or not op.hunks[-1].lines:
                raise PatchError(f"line {number}: '{END_OF_FILE}' must follow a hunk's lines")
            op.hunks[-1].at_eof = True
            i += 1
            continue
        if not op.hunks:
            op.hunks.append(Hunk())  # the first hunk may leave out its '@@'
        hunk = op.hunks[-1]
        if hunk.at_eof:
            raise PatchError(f"line {number}: expected '@@' to start a new hunk after '{END_OF_FILE}', "
                             f"got {line!r}")
        if line == "":
            hunk.lines.append((" ", ""))  # an empty line is an empty context line
        elif line[0] in " -+":
            hunk.lines.append((line[0], line[1:]))
        else:
            raise PatchError(f"line {number}: unexpected line {line!r} in a hunk of {op.path}; every hunk line "
                             "starts with ' ' (context), '-' (remove) or '+' (add), and a hunk starts with '@@'")
        i += 1
    if not op.hunks or not any(h.lines for h in op.hunks):
        raise PatchError(f"line {op.line}: '{UPDATE}{op.path}' has no hunks")
    for hunk in op.hunks:
        if not hunk.lines:
            raise PatchError(f"line {op.line}: a hunk of {op.path} has no lines")
    return i


def apply_hunks(original: str, hunks: list[Hunk], path: str) -> str:
    """The new text of one file (LF breaks), or PatchError saying which hunk does not apply and why."""
    lines = original.split("\n")
    if lines[-1] == "":
        lines.pop()
    cursor = 0
    edits: list[tuple[int, int, list[str]]] = []
    for number, hunk in enumerate(hunks, start=1):
        if hunk.anchor is not None:
            at = find_lines(lines, [hunk.anchor], cursor)
            if at is None:
                raise PatchError(f"Failed to find context '{hunk.anchor}' in {path} (hunk {number}, "
                                 "searching after the previous hunk)")
            cursor = at + 1
        old, new = hunk.old, hunk.new
        if not old:
            edits.append((len(lines), 0, new))  # nothing to match: Codex appends at the end of the file
            continue
        found = find_lines(lines, old, cursor, at_end=hunk.at_eof)
        trimmed = 0
        while found is None and len(old) > 1 and old[-1] == "":
            # Trailing empty context lines often stand for the file's last line break (or blank lines
            # the model left before the next header).
            old, trimmed = old[:-1], trimmed + 1
            found = find_lines(lines, old, cursor, at_end=hunk.at_eof)
        if found is None:
            where = " at the end of the file" if hunk.at_eof else ""
            raise PatchError(f"Failed to find expected lines{where} in {path} (hunk {number}):\n"
                             + "\n".join(hunk.old[:12]))
        new = _keep_file_context(hunk, lines[found:found + len(old)])
        while trimmed and new and new[-1] == "":
            new, trimmed = new[:-1], trimmed - 1
        edits.append((found, len(old), new))
        cursor = found + len(old)
    for start, length, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:start + length] = new
    return "\n".join(lines) + "\n" if lines else ""


def _keep_file_context(hunk: Hunk, matched: list[str]) -> list[str]:
    """The hunk's new lines, with each context line spelled as the file has it (it may have matched
    loosely: other whitespace or typographic punctuation) so that only '+' and '-' lines change."""
    out: list[str] = []
    k = 0
    for kind, text in hunk.lines:
        if kind == "+":
            out.append(text)
            continue
        if kind == " ":
            out.append(matched[k] if k < len(matched) else text)
        k += 1
    return out
