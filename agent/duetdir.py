"""`.duet/` in a workspace: only the project's config file, `.duet/config.toml` (untrusted until `agent trust`).

Duet keeps nothing else in the work tree: a repository could commit it and a command could write it. Sessions
and checkpoints are under the git directory or the user's state directory (agent.transcript), caches in the
user's cache directory (agent.context.sealed). Anything else found in `.duet/` (an older Duet's caches and
sessions, or files a repository or a command planted) is never read; the start of a session says so once.
Its own module: the context commands need it without the event models.
"""

from __future__ import annotations

import os
from pathlib import Path

DUET_DIR = ".duet"
OWN_ENTRIES = frozenset({"config.toml", ".gitignore"})  # .gitignore: written by older versions of Duet
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` made (with its parents) if missing, and readable by the user alone."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def foreign_duet_warning(workspace: Path) -> list[str]:
    """One warning naming what `.duet/` holds besides the project config (none when it holds nothing else)."""
    try:
        names = sorted(e.name for e in os.scandir(workspace / DUET_DIR) if e.name not in OWN_ENTRIES)
    except OSError:
        return []
    if not names:
        return []
    shown = ", ".join(f"{DUET_DIR}/{n}" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return [f"ignoring {shown}: Duet reads nothing in {DUET_DIR}/ but config.toml (its caches and sessions are kept "
            "outside the work tree); these may be an older Duet's or planted by the repository"]
