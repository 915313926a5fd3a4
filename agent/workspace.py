"""Which directory a command works in: the git root of where the user stands, as git, Claude Code and Codex do.

Kept free of heavy imports: every subcommand calls it before doing anything else.
"""

from __future__ import annotations

from pathlib import Path


def git_root(start: Path) -> Path | None:
    """The top of the git work tree containing `start` (a `.git` directory, or a file for worktrees and
    submodules), or None outside any repository."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def find_workspace(explicit: str | None, cwd: Path) -> Path:
    """`-C DIR` when given (taken as it is); otherwise the git root of `cwd`, or `cwd` outside a repository."""
    if explicit is not None:
        return (cwd / explicit).resolve()
    here = cwd.resolve()
    return git_root(here) or here


def start_dir_in(workspace: Path, cwd: Path) -> Path | None:
    """Where tools should start: the user's directory when it lies below the workspace root, else None."""
    here = cwd.resolve()
    return here if here != workspace and here.is_relative_to(workspace) else None
