"""The run's private temp dir: outside the system temp dir, 0700, under the user's cache dir.

In the system temp dir (writable by every command in auto-edit) one run's commands could tamper with another
run's files, or with the screenshot a browser wrote there. Under `$XDG_CACHE_HOME/duet/runs/` (default
`~/.cache/duet/runs/`) each run's dir is writable only by that run's commands; the `runs` dir itself is hidden
from every sandboxed command (see paths.rules_for), so no run can read another's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from agent.userdirs import cache_base


def runs_dir(environ: Mapping[str, str]) -> Path | None:
    """Where the runs' private temp dirs live, or None without HOME or XDG_CACHE_HOME."""
    if not (environ.get("XDG_CACHE_HOME") or environ.get("HOME")):
        return None
    return cache_base(environ) / "runs"


def make_private_tmp(environ: Mapping[str, str]) -> Path:
    """A new private temp dir (0700) for one run; in the system temp dir only when the cache dir is unusable."""
    runs = runs_dir(environ)
    if runs is not None:
        try:
            runs.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(runs, 0o700)
            return Path(tempfile.mkdtemp(prefix="run-", dir=runs)).resolve()
        except OSError:
            pass  # a read-only HOME: fall back to the system temp dir, as before
    return Path(tempfile.mkdtemp(prefix="duet-run-")).resolve()
