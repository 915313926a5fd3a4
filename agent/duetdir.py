"""`.duet/` in a workspace: where Duet keeps its private files (sessions, caches, checkpoints), made readable by
the user alone and ignored by git. Its own module: the context commands need it without the event models."""

from __future__ import annotations

import os
from pathlib import Path

DUET_DIR = ".duet"
# Everything Duet keeps in .duet/ stays out of git, this file included; only a project config is shared.
PRIVATE_IGNORES = "# Duet's private files: caches\n*\n!config.toml\n"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` made (with its parents) if missing, and readable by the user alone."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def duet_dir(workspace: Path) -> Path:
    """`.duet/` in the workspace, made on first use (0700), with its private parts ignored by git."""
    path = private_dir(workspace / DUET_DIR)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text(PRIVATE_IGNORES, encoding="utf-8")
    return path
