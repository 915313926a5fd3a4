"""What an approval is about, for the person deciding: the tool's own dry run of the call (the diff of exactly the
bytes an edit will write, the full command and where it runs), or else the call's target or summary."""

from __future__ import annotations

import json
from pathlib import Path

from agent.approval import ApprovalRequest
from tools.base import Preview

ApprovalPreview = Preview
"""The modal's view of a request: the tool's preview (tools.base.Preview)."""

__all__ = ["ApprovalPreview", "preview"]


def preview(request: ApprovalRequest, workspace: Path, cwd: Path) -> ApprovalPreview:
    """The preview of `request`: the tool's own when it made one, else its command or its target (read from the
    arguments), else its summary. Never recomputes what a tool would do: only the tool knows that."""
    if request.preview is not None:
        return request.preview
    if request.command is not None:
        return ApprovalPreview("command", request.command, str(cwd))
    try:
        args = json.loads(request.arguments or "{}")
    except json.JSONDecodeError:
        args = {}
    if not isinstance(args, dict):
        args = {}
    target = next((str(args[k]) for k in ("target", "url", "path") if k in args), "")
    return ApprovalPreview("text", target or request.summary)
