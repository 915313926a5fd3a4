"""Finding `.git` entries below the workspace root that a sandboxed command created.

Commands may write anywhere in the workspace but the top-level `.git/`, so they can make `src/.git/config`
with a `core.fsmonitor` command: git run by the user later would execute it. Duet's own git calls are
hardened (agent.gitsafe); this says so to the model (and thus the user) when it happens.
"""

from __future__ import annotations

import os
from pathlib import Path

from tools.protected import folded

MAX_DIRS = 50_000  # a bound on the walk after each command; a larger tree is only partly checked


def nested_git(workspace: Path) -> frozenset[str]:
    """Workspace-relative paths of `.git` entries (any spelling) below the root, without following links."""
    found: set[str] = set()
    pending = [workspace]
    seen = 0
    while pending and seen < MAX_DIRS:
        directory = pending.pop()
        seen += 1
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if folded(entry.name) == ".git":
                if directory != workspace:
                    found.add(Path(entry.path).relative_to(workspace).as_posix())
                continue  # never walk into a repository's own store
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
    return frozenset(found)
