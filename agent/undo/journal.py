"""One session's record of what it wrote: for every path its tools or commands changed, how the file was before
the session's first change to it and every state the session left it in. It is written durably (fsync of the
content, the manifest and their directory) before each write starts, so a run killed at any moment still has
it; resuming a session continues the same record, so one session has one "before" however often it resumes.

A recorded state is a hash with its kind: `sha256:` (the file tools: a copy of the bytes is kept in the record's
`files/`), `git:` (a shell command's change, seen between two snapshots: a blob in the repository) or `secret:`
(the same for a secret file: a blob in Duet's private store, agent.undo.secretstore). None: no file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.duetdir import PRIVATE_FILE_MODE, private_dir
from agent.undo.model import DamagedRecord, UndoError

MANIFEST = "manifest.json"
VERSION = 2


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def mode_of(st_mode: int | None) -> str:
    return "100755" if st_mode is not None and st_mode & 0o111 else "100644"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """`data` at `path` (private), on disk before this returns: temporary file, fsync, rename, fsync of the dir
    (without `sync`: the same steps, unsynced, for a record that only narrows one already on disk)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        _fsync_dir(path.parent)


@dataclass
class Change:
    """One path: its state before the session's first change, and the states the session left it in (None: in
    doubt, a command killed before its end was seen)."""

    before: str | None
    before_mode: str
    after: list[str | None] | None


class Journal:
    """The record of one session, kept in `directory` (under Duet's state directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, Change] = {}
        self.opaque = False  # outside git: a command changed files nobody can name
        self.pending: dict[str, Any] | None = None  # the snapshot before a command whose end was not seen
        self.incomplete: str | None = None  # why a change could not be recorded

    @property
    def manifest(self) -> Path:
        return self.directory / MANIFEST

    def exists(self) -> bool:
        return self.manifest.is_file()

    @classmethod
    def load(cls, directory: Path) -> Journal:
        """The record in `directory` (empty when there is none); UndoError naming the file when it is not one."""
        journal = cls(directory)
        try:
            data = json.loads(journal.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return journal
        except (OSError, ValueError) as exc:
            raise DamagedRecord(f"the checkpoint record {journal.manifest} is unreadable ({exc})") from None
        problem = f"the checkpoint record {journal.manifest} is not a Duet record of this version; refusing it"
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("files"), dict):
            raise DamagedRecord(problem)
        for path, item in data["files"].items():
            if not (isinstance(item, dict) and _state(item.get("before")) and isinstance(item.get("mode"), str)
                    and (item.get("after") is None or (isinstance(item["after"], list)
                                                       and all(_state(a) for a in item["after"])))):
                raise DamagedRecord(problem)
            journal.files[str(path)] = Change(item["before"], item["mode"], item["after"])
        pending = data.get("pending")
        if pending is not None and not (isinstance(pending, dict) and isinstance(pending.get("tree"), str)
                                        and isinstance(pending.get("secrets"), dict)):
            raise DamagedRecord(problem)
        journal.pending = pending
        journal.opaque = bool(data.get("opaque"))
        incomplete = data.get("incomplete")
        journal.incomplete = incomplete if isinstance(incomplete, str) else None
        return journal

    def save(self, *, sync: bool = True) -> None:
        self._prepare()
        data = {"version": VERSION, "opaque": self.opaque, "pending": self.pending, "incomplete": self.incomplete,
                "files": {path: {"before": c.before, "mode": c.before_mode, "after": c.after}
                          for path, c in self.files.items()}}
        durable_write(self.manifest, json.dumps(data).encode(), sync=sync)

    def keep_copy(self, data: bytes) -> str:
        """Keep `data` in the record (once per content); its `sha256:` name."""
        name = sha256_of(data)
        copy = self.directory / "files" / name.removeprefix("sha256:")
        if not copy.is_file():
            private_dir(copy.parent)
            durable_write(copy, data)
        return name

    def copy_bytes(self, name: str) -> bytes:
        copy = self.directory / "files" / name.removeprefix("sha256:")
        try:
            data = copy.read_bytes()
        except OSError:
            raise UndoError(f"the checkpoint copy {copy} is missing; refusing the record") from None
        if sha256_of(data) != name:
            raise UndoError(f"the checkpoint copy {copy} was changed; refusing the record")
        return data

    def _prepare(self) -> None:
        """The record's directory and the ones above it, up to the state directory, private to the user."""
        private_dir(private_dir(private_dir(self.directory.parent.parent) / "checkpoints") / self.directory.name)

    def touch(self, path: str, before: str | None, before_mode: str, after: list[str | None] | None) -> None:
        """`path` changed (or about to be): its `before` is kept from the first time only."""
        known = self.files.get(path)
        if known is None:
            self.files[path] = Change(before, before_mode, after)
        else:
            known.after = after


def _state(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.split(":", 1)[0] in ("sha256", "git", "secret"))
