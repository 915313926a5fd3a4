"""Paths the model may never change through any tool: git's state and Duet's own."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from tools.base import ToolError

PROTECTED_DIRS = (".git", ".duet")
# Code points file systems ignore in names (HFS+ drops them, so `.g\u200cit` is `.git` there), as git does.
IGNORABLE = re.compile("[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]")


def folded(name: str) -> str:
    """`name` as a case-insensitive file system may treat it: ignorable code points dropped, case folded, and
    trailing dots and spaces dropped (NTFS); NTFS's short name for `.git` is `git~1`."""
    name = unicodedata.normalize("NFC", IGNORABLE.sub("", name)).casefold().rstrip(". ")
    return ".git" if name == "git~1" else name


def refuse_protected(root: Path, target: Path, display: str) -> None:
    """Raise ToolError when `target` (resolved, inside `root`) is or lies under a protected directory: `.git` or
    `.duet`, at any depth (a nested repository's config and hooks run code too, and a `.duet/` below the root is
    the top of the next workspace when the user starts Duet there).

    `.git/` holds hooks and config that run code (core.fsmonitor, hooks) on the next git command, and
    `.duet/` holds Duet's own config: a model that could edit it could lift its own limits.
    """
    parts = [folded(part) for part in target.relative_to(root).parts]
    hit = next((name for name in PROTECTED_DIRS if name in parts), None)
    if hit is not None:
        raise ToolError(f"{display}: {hit}/ is protected; Duet's tools do not change git's or "
                        "Duet's own state (use git through the user, or ask them)")
