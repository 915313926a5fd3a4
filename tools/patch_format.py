"""Parsing and applying Codex's patch format, entirely in memory.

    *** Begin Patch
    *** Add File: path        (+ lines)
    *** Update File: path     (optional *** Move to: path; @@ hunks of ' ', '-', '+' lines)
    *** Delete File: path
    *** End Patch

Hunk context is matched strictly, then ignoring trailing whitespace, then ignoring all surrounding
whitespace, the same ladder Codex uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


class PatchError(ValueError):
    pass


@dataclass
class Hunk:
    anchor: str = ""
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
    move_to: str | None = None
    content: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)


def parse_patch(text: str) -> list[FileOp]:
    lines = text.strip().splitlines()
    if not lines or lines[0].strip() != "*** Begin Patch":
        raise PatchError("a patch must start with '*** Begin Patch'")
    if lines[-1].strip() != "*** End Patch":
        raise PatchError("a patch must end with '*** End Patch'")
    ops: list[FileOp] = []
    op: FileOp | None = None
    for n, line in enumerate(lines[1:-1], start=2):
        header = _header(line)
        if header:
            kind, path = header
            if not path:
                raise PatchError(f"line {n}: file header without a path")
            op = FileOp(kind=kind, path=path)
            ops.append(op)
        elif line.startswith("*** Move to: ") and op and op.kind == "update":
            op.move_to = line[len("*** Move to: "):].strip()
        elif op is None:
            raise PatchError(f"line {n}: expected a file header, got {line!r}")
        elif op.kind == "add":
            if not line.startswith("+"):
                raise PatchError(f"line {n}: every line of an added file starts with '+'")
            op.content.append(line[1:])
        elif op.kind == "delete":
            raise PatchError(f"line {n}: a deleted file takes no lines")
        elif line.startswith("@@"):
            op.hunks.append(Hunk(anchor=line[2:].strip()))
        elif line.strip() == "*** End of File":
            if not op.hunks:
                raise PatchError(f"line {n}: '*** End of File' outside a hunk")
            op.hunks[-1].at_eof = True
        else:
            if not op.hunks:
                op.hunks.append(Hunk())
            kind_char, body = (line[0], line[1:]) if line and line[0] in " -+" else (" ", line)
            op.hunks[-1].lines.append((kind_char, body))
    if not ops:
        raise PatchError("the patch changes no files")
    for op in ops:
        if op.kind == "update" and not op.hunks and not op.move_to:
            raise PatchError(f"Update File: {op.path} has no hunks")
    return ops


def _header(line: str) -> tuple[Literal["add", "update", "delete"], str] | None:
    for prefix, kind in (("*** Add File:", "add"), ("*** Update File:", "update"), ("*** Delete File:", "delete")):
        if line.startswith(prefix):
            return kind, line[len(prefix):].strip()  # type: ignore[return-value]
    return None


_NORMALISERS = (lambda s: s, str.rstrip, str.strip)


def _find(lines: list[str], want: list[str], start: int, at_eof: bool) -> int:
    if not want:
        return len(lines) if at_eof else start
    for norm in _NORMALISERS:
        target = [norm(w) for w in want]
        candidates = [len(lines) - len(want)] if at_eof else range(start, len(lines) - len(want) + 1)
        for i in candidates:
            if i >= start and [norm(x) for x in lines[i:i + len(want)]] == target:
                return i
    return -1


def _replacement(hunk: Hunk, matched: list[str]) -> list[str]:
    """The hunk's new lines, with context lines kept exactly as the file has them."""
    file_lines = iter(matched)
    out = []
    for kind, text in hunk.lines:
        if kind == "+":
            out.append(text)
        else:
            actual = next(file_lines)
            if kind == " ":
                out.append(actual)
    return out


def apply_hunks(original: str, hunks: list[Hunk], path: str) -> str:
    """The new text of one file, or PatchError naming the hunk that does not apply."""
    lines = original.splitlines()
    cursor = 0
    out: list[str] = []
    for number, hunk in enumerate(hunks, start=1):
        if hunk.anchor:
            at = _find(lines, [hunk.anchor], cursor, False)
            if at >= 0:
                out += lines[cursor:at + 1]
                cursor = at + 1
        at = _find(lines, hunk.old, cursor, hunk.at_eof)
        if at < 0:
            shown = "\n".join(hunk.old[:8])
            raise PatchError(f"{path}: hunk {number} does not apply; these lines were not found:\n{shown}")
        out += lines[cursor:at] + _replacement(hunk, lines[at:at + len(hunk.old)])
        cursor = at + len(hunk.old)
    out += lines[cursor:]
    text = "\n".join(out)
    return text + "\n" if out and (original.endswith("\n") or not original) else text
