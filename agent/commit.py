"""`--commit`: commit Duet's work on the user's branch, only when asked."""

from __future__ import annotations

from pathlib import Path

from agent.checkpoint import EXCLUDE_DUET
from agent.errors import DuetError
from agent.gitsafe import harden_repo


def commit_work(workspace: Path, message: str, paths: list[str]) -> str | None:
    """Commit the files Duet changed; returns the new commit id, or None if there was nothing to commit."""
    import git

    try:
        repo = harden_repo(git.Repo(workspace))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise DuetError("--commit needs a git repository") from None
    if not paths:
        return None
    repo.git.add("-A", "--", *paths, EXCLUDE_DUET)
    if not repo.git.diff("--cached", "--name-only"):
        return None
    try:
        repo.git.commit("-m", message, "--no-verify")
    except git.GitCommandError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise DuetError(f"git commit failed: {detail[-1] if detail else exc}") from None
    return str(repo.head.commit.hexsha)
