"""What undo knows about each file a session changed, and the rule that decides what it may restore."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agent.errors import DuetError
from agent.undo.gitsnap import Entry


class UndoError(DuetError):
    """Undo could not do what was asked (exit 1): no checkpoint, a refused record."""

    exit_code = 1


class DamagedRecord(UndoError):
    """A checkpoint record that is not one Duet wrote (wrong types, not JSON, unreadable): bad input, exit 2."""

    exit_code = 2


class NoCheckpoint(UndoError):
    """The session has no checkpoint at all (it changed nothing, or its checkpoint could not be made)."""


@dataclass(frozen=True)
class FileUndo:
    """One path the session changed: its entry before the session's first change to it (blob None: absent),
    whether it is now as the session left it, and whether it is back as it was already."""

    path: str
    before: Entry
    as_duet_left_it: bool
    already_restored: bool
    current_exists: bool


@dataclass
class UndoPlan:
    """Everything `agent undo` would do for one session, decided before anything is written."""

    session_id: str
    files: list[FileUndo]
    read_before: Callable[[FileUndo], bytes]
    cannot_restore: list[str] = field(default_factory=list)  # what this kind of checkpoint cannot cover
    still_differs: Callable[[list[FileUndo]], list[str]] = lambda _items: []
    """Of the files given, those not back as they were before (undo checks what it restored with it)."""

    @property
    def restorable(self) -> list[FileUndo]:
        return [f for f in self.files if f.as_duet_left_it and not f.already_restored]

    @property
    def changed_since(self) -> list[FileUndo]:
        """Files someone changed after Duet's last run (or with no record of how Duet left them)."""
        return [f for f in self.files if not f.as_duet_left_it and not f.already_restored]


def confined(workspace: Path, relative: str) -> Path:
    """The absolute path of a recorded `relative` path, or UndoError when it could lead outside the workspace:
    records live outside the model's reach, but a shell command can still write one, so none is trusted."""
    pure = PurePosixPath(relative)
    if (not relative or "\0" in relative or pure.is_absolute() or ".." in pure.parts
            or relative != pure.as_posix() or pure.parts[:1] == (".git",)):
        raise UndoError(f"the checkpoint record names {relative!r}, which is not a path inside the workspace; "
                        "refusing the whole record (was it forged?)")
    root = workspace.resolve()
    target = root / pure
    parent = Path(os.path.realpath(target.parent))  # links in the directories must not lead out either
    if parent != root and root not in parent.parents:
        raise UndoError(f"the checkpoint record names {relative!r}, which leads outside the workspace through a "
                        "link; refusing the whole record")
    return target
