"""Which directory a command works in: the git root of where the user stands, as git, Claude Code and Codex do.

Kept free of heavy imports: every subcommand calls it before doing anything else.
"""

from __future__ import annotations

from pathlib import Path


def git_root(start: Path) -> Path | None:
    """The top of the git work tree containing `start` (a `.git` directory, or a file for worktrees and
    submodules), or None outside any repository. A repository that appeared where Duet let commands write
    (agent.repo.known) is passed over: a command's `git init` in `pkg/` does not make `pkg/` the workspace."""
    from agent.repo.known import KnownRepos

    known: KnownRepos | None = None
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            known = known or KnownRepos()
            if known.trusted(folder / ".git"):
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
