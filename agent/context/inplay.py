"""Which files are "in play": named in the task or a traceback, or changed recently in git."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from agent.gitsafe import git_argv

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


def recently_changed_soon(root: Path) -> Callable[[], list[str]]:
    """recently_changed(root) asked now, in a thread (git does the waiting); call the result for the answer."""
    answer: list[list[str]] = []
    worker = threading.Thread(target=lambda: answer.append(recently_changed(root)), name="duet-changed",
                              daemon=True)
    worker.start()

    def wait() -> list[str]:
        worker.join()
        return answer[0] if answer else []

    return wait


def recently_changed(root: Path) -> list[str]:
    """Files changed in the work tree or in the last commit (one git call)."""
    if not (root / ".git").exists():
        return []
    for base in ("HEAD~1", "HEAD"):  # HEAD~1 covers both; a repository with one commit has only HEAD
        try:
            result = subprocess.run(git_argv("diff", "--name-only", base), cwd=root, capture_output=True, text=True,
                                    timeout=30)
        except (OSError, subprocess.SubprocessError):
            return []
        if result.returncode == 0:
            return sorted(line for line in result.stdout.splitlines() if line)
    return []
