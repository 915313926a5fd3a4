"""What an approval is about, for the person deciding: the diff an edit or patch would make, the full command and
where it runs, or the target of other tools. Reads files, so a front end calls it off its UI loop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.approval import ApprovalRequest
from tools.diffs import unified

MAX_PREVIEW_BYTES = 2_000_000  # a bigger file is not diffed for the modal (the tool still checks it)


@dataclass(frozen=True)
class ApprovalPreview:
    kind: Literal["diff", "command", "text"]
    text: str
    cwd: str = ""


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_PREVIEW_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _inside(workspace: Path, raw: str) -> Path | None:
    path = (workspace / raw).resolve()
    return path if path.is_relative_to(workspace) else None


def _edit_diff(workspace: Path, args: dict) -> str:
    raw = str(args.get("path", ""))
    old, new = str(args.get("old_string", "")), str(args.get("new_string", ""))
    path = _inside(workspace, raw)
    before = _read(path) if path else None
    if before is not None and old and old in before:
        after = before.replace(old, new) if args.get("replace_all") else before.replace(old, new, 1)
        return unified(raw, before, after)
    if before is None and not old:
        return unified(raw, None, new)
    # Not an exact match (the tool may still match it loosely): show the replacement itself.
    return unified(raw, old, new)


def preview(request: ApprovalRequest, workspace: Path, cwd: Path) -> ApprovalPreview:
    """The preview of `request`; falls back to the request's summary when its arguments cannot be read."""
    try:
        args = json.loads(request.arguments or "{}")
    except json.JSONDecodeError:
        args = {}
    if not isinstance(args, dict):
        args = {}
    workspace = workspace.resolve()
    if request.command is not None:
        return ApprovalPreview("command", request.command, str(cwd))
    if request.tool == "edit_file" and "path" in args:
        return ApprovalPreview("diff", _edit_diff(workspace, args))
    if request.tool == "write_file" and "path" in args:
        raw = str(args["path"])
        path = _inside(workspace, raw)
        return ApprovalPreview("diff", unified(raw, _read(path) if path else None, str(args.get("content", ""))))
    if request.tool == "apply_patch" and "patch" in args:
        return ApprovalPreview("diff", str(args["patch"]))
    target = next((str(args[k]) for k in ("target", "url", "path") if k in args), "")
    return ApprovalPreview("text", target or request.summary)
