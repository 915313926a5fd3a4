"""Checkpoints without git: each file is copied before its first change, and its hash recorded at the end of
each run. Changes made by shell commands cannot be known, so undo says so instead of claiming success."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from agent.transcript import PRIVATE_FILE_MODE, private_dir
from agent.undo.gitsnap import Entry
from agent.undo.model import FileUndo, NoCheckpoint, UndoError, UndoPlan, confined

MANIFEST = "manifest.json"
SHELL_NOTE = ("changes made by shell commands (this workspace is not a git repository, so Duet cannot tell what "
              "they changed)")


def entry_of(path: Path) -> Entry:
    """A file's content hash and mode now (blob None when absent)."""
    try:
        if path.is_symlink() or not path.is_file():
            return Entry(None)
        mode = "100755" if path.stat().st_mode & 0o111 else "100644"
        return Entry(hashlib.sha256(path.read_bytes()).hexdigest(), mode)
    except OSError:
        return Entry(None)


class CopyStore:
    """One session's copies and manifest under the state directory."""

    def __init__(self, workspace: Path, directory: Path) -> None:
        self.workspace = workspace.resolve()
        self.directory = directory

    def exists(self) -> bool:
        return (self.directory / MANIFEST).is_file()

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"copied": [], "created": [], "opaque": False, "after": None}
        except (OSError, ValueError) as exc:
            raise UndoError(f"the checkpoint record {self.directory / MANIFEST} is unreadable ({exc})") from None
        if not isinstance(data, dict):
            raise UndoError(f"the checkpoint record {self.directory / MANIFEST} is not a Duet record")
        return data

    def _prepare(self) -> None:
        """The store and the directories above it, up to the state directory, private to the user."""
        private_dir(private_dir(private_dir(self.directory.parent.parent) / "checkpoints") / self.directory.name)

    def _save(self, manifest: dict[str, Any]) -> None:
        self._prepare()
        tmp = self.directory / f"{MANIFEST}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle)
        os.replace(tmp, self.directory / MANIFEST)

    def before_change(self, paths: list[Path], opaque: bool) -> None:
        """Copy each file not yet copied, or note it as created; `opaque`: something changed unnamed files."""
        self._prepare()
        manifest = self.load()
        known = set(manifest["copied"]) | set(manifest["created"])
        for path in paths:
            relative = path.resolve().relative_to(self.workspace).as_posix()
            if relative in known:
                continue
            known.add(relative)
            if path.is_file():
                copy = self.directory / "files" / relative
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
                manifest["copied"].append(relative)
            else:
                manifest["created"].append(relative)
        manifest["opaque"] = bool(manifest["opaque"] or opaque)
        self._save(manifest)

    def record_after(self) -> None:
        """Remember how this run left every file it touched."""
        if not self.exists():
            return
        manifest = self.load()
        after = {}
        for relative in [*manifest["copied"], *manifest["created"]]:
            entry = entry_of(self.workspace / relative)
            after[relative] = [entry.blob, entry.mode]
        manifest["after"] = after
        self._save(manifest)

    def plan(self, session_id: str) -> UndoPlan:
        if not self.exists():
            raise NoCheckpoint("this session made no checkpoint (it changed nothing)")
        manifest = self.load()
        after = manifest.get("after")
        files: list[FileUndo] = []
        for relative in [*manifest["copied"], *manifest["created"]]:
            target = confined(self.workspace, str(relative))
            copy = self.directory / "files" / relative
            before = entry_of(copy) if relative in manifest["copied"] else Entry(None)
            if relative in manifest["copied"] and before.blob is None:
                raise UndoError(f"the checkpoint copy of {relative} is missing; refusing the record")
            recorded = after.get(relative) if isinstance(after, dict) else None
            if recorded is not None and not (isinstance(recorded, list) and len(recorded) == 2):
                raise UndoError(f"the checkpoint record of {relative} is malformed; refusing the record")
            left = Entry(recorded[0], str(recorded[1])) if recorded else None
            files.append(FileUndo(relative, before, left, entry_of(target)))
        cannot = [SHELL_NOTE] if manifest.get("opaque") else []
        return UndoPlan(session_id, files, lambda f: (self.directory / "files" / f.path).read_bytes(), cannot)
