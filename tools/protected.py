"""Paths the model may never change through any tool: git's state and Duet's own."""

from __future__ import annotations

from pathlib import Path

from tools.base import ToolError

PROTECTED_DIRS = (".git", ".duet")


def refuse_protected(root: Path, target: Path, display: str) -> None:
    """Raise ToolError when `target` (resolved, inside `root`) is or lies under a protected directory.

    `.git/` holds hooks and config that run code (core.fsmonitor, hooks) on the next git command, and
    `.duet/` holds Duet's own config and sessions: a model that could edit them could lift its own limits.
    """
    relative = target.relative_to(root)
    if relative.parts and relative.parts[0] in PROTECTED_DIRS:
        raise ToolError(f"{display}: {relative.parts[0]}/ is protected; Duet's tools do not change git's or "
                        "Duet's own state (use git through the user, or ask them)")
