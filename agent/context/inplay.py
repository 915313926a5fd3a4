"""Which files are "in play": named in the task or a traceback, or changed recently in git."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from agent.gitsafe import git_argv, git_env

PATHISH = re.compile(r"[\w./-]+\.\w{1,5}")
NAMEISH = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{3,}\b")


def files_named_in(texts: Iterable[str], candidates: Iterable[str]) -> list[str]:
    """Candidate paths that the texts mention, by full path, path suffix or file name."""
    tokens = [token.lstrip("./") for text in texts for token in PATHISH.findall(text)]
    if not tokens:  # nothing path-like: no need to index a monorepo's paths
        return []
    candidates = list(candidates)
    by_name: dict[str, list[str]] = {}
    for path in candidates:
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    found: list[str] = []
    for token in tokens:
        hits = [p for p in candidates if p == token or p.endswith("/" + token)] or by_name.get(token, [])
        found += [h for h in hits if h not in found]
    return found


def names_mentioned(texts: Iterable[str]) -> set[str]:
    return {name for text in texts for name in NAMEISH.findall(text)}


MAX_DIRTY_PATHS = 200  # more work-tree changes than this: one plain `git diff` instead of a path list


def recently_changed_soon(root: Path) -> Callable[[Collection[str] | None], list[str]]:
    """recently_changed(root), its index side asked now in a thread; call the result with the tracked files
    git no longer vouches for (the scan's `git diff-files`; None: unknown) for the answer.

    Every other tracked file holds its index blob, so how it differs from the base commit is the index's
    difference, which git answers from its cache of trees without a stat; only the few files git does not
    vouch for are compared in the work tree. The answer is `git diff --name-only <base>`'s, without its
    second pass over every file of a monorepo."""
    staged: list[tuple[str, list[str]] | None] = []
    worker = threading.Thread(target=lambda: staged.append(_staged_changes(root)), name="duet-changed",
                              daemon=True)
    worker.start()

    def wait(dirty: Collection[str] | None) -> list[str]:
        worker.join()
        known = staged[0] if staged else None
        if known is None or dirty is None or len(dirty) > MAX_DIRTY_PATHS or any("\ufffd" in p for p in dirty):
            return recently_changed(root)
        base, names = known
        worktree = _diff_names(root, "--literal-pathspecs", "diff", "--name-only", base, "--", *sorted(dirty)) \
            if dirty else []
        if worktree is None:
            return recently_changed(root)
        return sorted({p for p in names if p not in dirty} | set(worktree))

    return wait


def _staged_changes(root: Path) -> tuple[str, list[str]] | None:
    """(base, paths whose index entry differs from the base commit): HEAD~1, or HEAD with one commit."""
    if not (root / ".git").exists():
        return None
    for base in ("HEAD~1", "HEAD"):
        names = _diff_names(root, "diff", "--cached", "--name-only", base)
        if names is not None:
            return base, names
    return None


def _diff_names(root: Path, *args: str) -> list[str] | None:
    try:
        result = subprocess.run(git_argv(root, *args), cwd=root, env=git_env(), capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return [line for line in result.stdout.splitlines() if line] if result.returncode == 0 else None


def recently_changed(root: Path) -> list[str]:
    """Files changed in the work tree or in the last commit (one git call)."""
    if not (root / ".git").exists():
        return []
    for base in ("HEAD~1", "HEAD"):  # HEAD~1 covers both; a repository with one commit has only HEAD
        try:
            result = subprocess.run(git_argv(root, "diff", "--name-only", base), cwd=root, env=git_env(),
                                    capture_output=True, text=True,
                                    timeout=30)
        except (OSError, subprocess.SubprocessError):
            return []
        if result.returncode == 0:
            return sorted(line for line in result.stdout.splitlines() if line)
    return []
