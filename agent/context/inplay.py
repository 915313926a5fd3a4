"""Which files are "in play": named in the task or a traceback, or changed recently in git."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from agent.gitsafe import git_argv

PATHISH = re.compile(r"[\w./-]+\.\w{1,5}")
NAMEISH = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{3,}\b")


def files_named_in(texts: Iterable[str], candidates: Iterable[str]) -> list[str]:
    """Candidate paths that the texts mention, by full path, path suffix or file name."""
    candidates = list(candidates)
    by_name: dict[str, list[str]] = {}
    for path in candidates:
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    found: list[str] = []
    for text in texts:
        for token in PATHISH.findall(text):
            token = token.lstrip("./")
            hits = [p for p in candidates if p == token or p.endswith("/" + token)] or by_name.get(token, [])
            found += [h for h in hits if h not in found]
    return found


def names_mentioned(texts: Iterable[str]) -> set[str]:
    return {name for text in texts for name in NAMEISH.findall(text)}


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
