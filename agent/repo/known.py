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
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.userdirs import state_base

REGISTRY = "repos.json"
# A repository nested in a watched workspace keeps its `.git/` where commands may write (only the top-level
# `.git/` is read-only to them): its config is pinned too, so a filter a command added there is not trusted.
PINNED_FILES = ("config", "config.worktree", "commondir")


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


def _git_dir(entry: Path) -> Path | None:
    """The git directory a `.git` entry stands for (a directory, or the target of a `gitdir:` file)."""
    if entry.is_file():
        try:
            line = entry.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        if not line.startswith("gitdir:"):
            return None
        target = Path(line.removeprefix("gitdir:").strip())
        return target if target.is_absolute() else entry.parent / target
    return entry


def git_dir_identity(entry: Path) -> list[int] | None:
    """The identity of the git directory a `.git` entry stands for (a directory, or a `gitdir:` file)."""
    git_dir = _git_dir(entry)
    return _identity(git_dir) if git_dir is not None else None


def _config_digest(entry: Path) -> str:
    """A digest of the files in a git directory that name programs git runs (or point to more of them)."""
    digest = hashlib.sha256()
    git_dir = _git_dir(entry)
    for name in PINNED_FILES:
        try:
            data = (git_dir / name).read_bytes() if git_dir is not None else b""
        except OSError:
            data = b"-"
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:32]


def fingerprint(entry: Path) -> list[int | str] | None:
    """What the registry keeps of a known repository: its git directory's identity and its config's digest."""
    identity = git_dir_identity(entry)
    return None if identity is None else [*identity, _config_digest(entry)]


class RegistryDamaged(ConfigError, OSError):
    """The registry exists but cannot be trusted: Duet fails closed (no git; exit 2 where the run cannot go on
    without it), and says how to recover. An OSError too, which every git caller treats as "no git here"."""


class KnownRepos:
    """The registry of watched workspaces and known repositories (read fresh for every question)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.path = state_base(environ) / REGISTRY

    def _read(self) -> dict[str, Any]:
        """The registry; empty only when there is none yet. One that cannot be read or is not Duet's (damaged,
        a link, wrong types) is a RegistryDamaged error, never an empty registry: that would trust every
        repository a command ever made, and the next write would erase what was watched."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return {"watched": {}, "known": {}}
        except OSError as exc:
            raise RegistryDamaged(self._damaged(exc.strerror or str(exc))) from None
        try:
            with os.fdopen(fd, "rb") as found:
                data = json.loads(found.read())
        except (OSError, ValueError) as exc:
            raise RegistryDamaged(self._damaged(f"not readable as JSON ({type(exc).__name__})")) from None
        if not isinstance(data, dict) or not all(isinstance(data.get(p), dict) for p in ("watched", "known")):
            raise RegistryDamaged(self._damaged("not Duet's record"))
        return data

    def _damaged(self, why: str) -> str:
        return (f"Duet's record of repositories {self.path} is damaged ({why}); Duet runs no git until it is "
                "fixed. Removing it makes every repository a first contact again")

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
    def _nested(data: Mapping[str, Any], entry: Path) -> bool:
        """Does `entry` lie below the root of a watched workspace (where commands could write in its `.git/`)?"""
        return any(Path(place) in entry.parent.parents for place in data["watched"])

    @staticmethod
    def _same_dir(data: Mapping[str, Any], entry: Path) -> bool:
        record = data["known"].get(str(entry))
        identity = git_dir_identity(entry)
        return isinstance(record, list) and identity is not None and record[:2] == identity

    def _known(self, data: Mapping[str, Any], entry: Path) -> bool:
        return self._same_dir(data, entry) and not self._config_changed(data, entry)

    def _config_changed(self, data: Mapping[str, Any], entry: Path) -> bool:
        """A known nested repository whose config is not what it was when it became known."""
        return self._same_dir(data, entry) and self._nested(data, entry) \
            and data["known"][str(entry)][2:] != [_config_digest(entry)]

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
        if self._known(data, entry):
            return None
        where = entry.parent
        if self._config_changed(data, entry):
            return (f"{where}/.git changed (its config) after Duet let commands write around it; Duet runs no git "
                    f"there and does not take it as a workspace (if that change is yours: agent trust -C {where})")
        place = self._watched_over(data, entry)
        if place is None:
            return None
        return (f"{where}/.git appeared after Duet let commands write in {place}; Duet runs no git there and does "
                f"not take it as a workspace (if that repository is yours: agent trust -C {where})")

    def watched_places(self) -> list[Path]:
        """Every workspace where Duet let commands write (helper binaries are never taken from one)."""
        return [Path(place) for place in self._read()["watched"]]

    def places(self) -> list[Path]:
        """Every workspace recorded here: the watched ones and the top level of each known repository."""
        data = self._read()
        return sorted({Path(p) for p in data["watched"]} | {Path(e).parent for e in data["known"]})

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
                if self._known(data, entry):
                    continue
                if self._watched_over(data, entry) is not None or self._config_changed(data, entry):
                    warnings.append(self.untrusted_because(entry) or "")
                    continue
                print_ = fingerprint(entry)
                if print_ is not None:
                    data["known"][key] = print_
            if first:
                data["watched"][str(workspace)] = {"dir": _identity(workspace), "since": int(time.time())}
        return [w for w in warnings if w]

    def trust(self, workspace: Path) -> Path | None:
        """The user's word: the repository of `workspace` is theirs. Returns its `.git` entry (None: none)."""
        entry = workspace.resolve() / ".git"
        if not os.path.lexists(entry):
            return None
        print_ = fingerprint(entry)
        if print_ is None:
            return None
        with self._changing() as data:
            data["known"][str(entry)] = print_
        return entry
