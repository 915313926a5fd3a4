"""The user's own directories for Duet (XDG-aware), computed from an environment. Light: no imports of note.

Everything here lies outside any work tree and, under the sandbox, outside what commands may write: HOME is
read-only to them (and mostly unreadable), and Duet's config directory is hidden whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/duet` (default `~/.config/duet`): the user's config, trust store and keys."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_CONFIG_HOME") or _home(env) / ".config") / "duet"


def state_base(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/duet` (default `~/.local/state/duet`): sessions of non-git workspaces, known repositories."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_STATE_HOME") or _home(env) / ".local" / "state") / "duet"


def cache_base(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/duet` (default `~/.cache/duet`): rebuildable caches and the runs' private temp dirs."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_CACHE_HOME") or _home(env) / ".cache") / "duet"


def workspace_key(workspace: Path) -> str:
    """A directory name for one workspace: readable, and unique by the workspace's full path."""
    digest = hashlib.sha256(str(workspace).encode()).hexdigest()[:16]
    return f"{workspace.name or 'root'}-{digest}"
