"""`--commit`: commit Duet's work on the user's branch, only when asked."""

from __future__ import annotations

from pathlib import Path

from agent.checkpoint import EXCLUDE_DUET
from agent.errors import DuetError
from agent.gitsafe import harden_repo, import_gitpython

SET_IDENTITY = ('git has no identity to commit with; set one with `git config --global user.name "Your Name"` '
                'and `git config --global user.email you@example.com` (the changes are on disk, not committed)')


def commit_work(workspace: Path, message: str, paths: list[str]) -> str | None:
    """Commit the files Duet changed; returns the new commit id, or None if there was nothing to commit.

    On failure nothing is left staged: the index is as it was before.
    """
    git = import_gitpython(workspace)
    try:
        repo = harden_repo(git.Repo(workspace, search_parent_directories=True))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise DuetError("--commit needs a git repository") from None
    except OSError as exc:  # a repository Duet must not run git in
        raise DuetError(str(exc)) from None
    if not paths:
        return None
    try:  # the same check `git commit` makes, before anything is staged
        repo.git.var("GIT_AUTHOR_IDENT")
        repo.git.var("GIT_COMMITTER_IDENT")
    except git.GitCommandError:
        raise DuetError(SET_IDENTITY) from None
    repo.git.add("-A", "--", *paths, EXCLUDE_DUET)
    if not repo.git.diff("--cached", "--name-only"):
        return None
    try:
        repo.git.commit("-m", message, "--no-verify")
    except git.GitCommandError as exc:
        repo.git.reset("-q", "--", *paths)
        lines = [ln.strip() for ln in (exc.stderr or "").strip().strip("'\"").splitlines() if ln.strip()]
        raise DuetError(f"git commit failed: {lines[-1] if lines else exc.status}") from None
    return str(repo.head.commit.hexsha)
