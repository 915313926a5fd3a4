"""Unified diffs of file changes, for the model and the front ends."""

from __future__ import annotations

import difflib
from typing import Literal

from tools.base import FileChange


def unified(path: str, before: str | None, after: str | None) -> str:
    a = (before or "").splitlines(keepends=True)
    b = (after or "").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, f"a/{path}" if before is not None else "/dev/null",
                                 f"b/{path}" if after is not None else "/dev/null")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def change(path: str, before: str | None, after: str | None) -> FileChange:
    action: Literal["created", "modified", "deleted"] = (
        "created" if before is None else "deleted" if after is None else "modified")
    return FileChange(path=path, action=action, diff=unified(path, before, after))
