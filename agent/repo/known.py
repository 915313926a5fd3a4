"""Repositories that appeared where Duet let commands write are untrusted until the user says otherwise.

A sandboxed command may write anywhere in the workspace but its `.git/`, so it can `git init` where there was
no repository (the workspace root of a plain directory, or `pkg/` in a monorepo) and give that repository a
config with `filter.x.clean = <payload>`, `diff.external`, an `include.path` and the like. Duet's own git calls
run unsandboxed, with the user's keys at hand: the payload would run the moment Duet asks `git status`.

So Duet remembers, per user (in `$XDG_STATE_HOME/duet/repos.json`, where commands cannot write):
- **watched** workspaces: where Duet let commands write, recorded before the first command runs, with the
  workspace directory's identity (a workspace deleted and cloned again is a new place);
- **known** repositories: the `.git` entries that already existed when a workspace was first watched, or that
  the user trusted with `agent trust`, with their git directory's identity.

A repository inside a watched workspace that is not known is untrusted: Duet does not run git in it, does
not keep sessions in it and does not take it as a workspace, and says so once. Anything else is a first
contact (a fresh clone) and is trusted, then known.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from agent.userdirs import state_base

REGISTRY = "repos.json"


def dot_git(start: Path) -> Path | None:
    """The `.git` entry of the repository containing `start` (nearest upwards), or None."""
    for folder in (start, *start.parents):
        entry = folder / ".git"
        if os.path.lexists(entry):
            return entry
    return None


def _identity(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino]


def git_dir_identity(entry: Path) -> list[int] | None:
    """The identity of the git directory a `.git` entry stands for (a directory, or a `gitdir:` file)."""
    if entry.is_file():
        try:
            line = entry.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        if not line.startswith("gitdir:"):
            return None
        target = Path(line.removeprefix("gitdir:").strip())
        return _identity(target if target.is_absolute() else entry.parent / target)
    return _identity(entry)


class KnownRepos:
    """The registry of watched workspaces and known repositories (read fresh for every question)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.path = state_base(environ) / REGISTRY

    def _read(self) -> dict[str, Any]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return {"watched": {}, "known": {}}
        try:
            with os.fdopen(fd, "rb") as found:
                data = json.loads(found.read() or b"{}")
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        for part in ("watched", "known"):
            if not isinstance(data.get(part), dict):
                data[part] = {}
        return data

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """The registry, locked against other Duet processes, written back whole when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            tmp = self.path.with_name(f".{REGISTRY}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        finally:
            os.close(lock)

    @staticmethod
    def _watched_over(data: Mapping[str, Any], entry: Path) -> str | None:
        """The watched workspace (still the same directory) that holds `entry`, if any."""
        for place, record in data["watched"].items():
            root = Path(place)
            if (root == entry.parent or root in entry.parents) and isinstance(record, dict) \
                    and record.get("dir") == _identity(root):
                return place
        return None

    def untrusted_because(self, entry: Path) -> str | None:
        """Why the repository of `.git` entry `entry` is untrusted (one line), or None when it is trusted."""
        entry = entry.parent.resolve() / entry.name
        data = self._read()
        if data["known"].get(str(entry)) == git_dir_identity(entry):
            return None
        place = self._watched_over(data, entry)
        if place is None:
            return None
        where = entry.parent
        return (f"{where}/.git appeared after Duet let commands write in {place}; Duet runs no git there and does "
                f"not take it as a workspace (if that repository is yours: agent trust -C {where})")

    def trusted(self, entry: Path) -> bool:
        return self.untrusted_because(entry) is None

    def watch(self, workspace: Path, existing: Callable[[], Iterable[Path]] = tuple) -> list[str]:
        """Record, before any command runs, that commands may write in `workspace`; the repositories there now
        (`existing`: `.git` entries below the root, looked for only when the workspace is first watched) are
        known. Returns the warnings for repositories found untrusted."""
        workspace = workspace.resolve()
        warnings: list[str] = []
        with self._changing() as data:
            record = data["watched"].get(str(workspace))
            first = not (isinstance(record, dict) and record.get("dir") == _identity(workspace))
            candidates = [e for e in (dot_git(workspace),) if e is not None]
            if first:
                candidates += list(existing())
            for entry in candidates:
                entry = entry.parent.resolve() / entry.name
                key = str(entry)
                if data["known"].get(key) == git_dir_identity(entry):
                    continue
                if self._watched_over(data, entry) is not None:
                    warnings.append(self.untrusted_because(entry) or "")
                    continue
                identity = git_dir_identity(entry)
                if identity is not None:
                    data["known"][key] = identity
            if first:
                data["watched"][str(workspace)] = {"dir": _identity(workspace), "since": int(time.time())}
        return [w for w in warnings if w]

    def trust(self, workspace: Path) -> Path | None:
        """The user's word: the repository of `workspace` is theirs. Returns its `.git` entry (None: none)."""
        entry = workspace.resolve() / ".git"
        if not os.path.lexists(entry):
            return None
        identity = git_dir_identity(entry)
        if identity is None:
            return None
        with self._changing() as data:
            data["known"][str(entry)] = identity
        return entry
