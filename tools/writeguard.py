"""The seam between a file tool's write and whoever must know of it first (the session's checkpoint).

`Opened.write` (tools.workspace) takes the guard's lock, re-reads the file and compares it with what the tool
based its edit on (refusing "changed since you read it"), tells the guard what is about to be written (the
checkpoint makes its record of the file durable before anything is written), writes, and tells the guard it
is done. The default guard only serialises the writes of this process.
"""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class WriteGuard(Protocol):
    """What a write must pass through: a lock shared by every writer of the workspace, and a record made before
    and after each write (`data` None: the file is removed)."""

    def locked(self) -> contextlib.AbstractContextManager[None]: ...

    def before_write(self, path: Path, current: bytes | None, current_mode: int | None, data: bytes | None) -> None: ...

    def after_write(self, path: Path, data: bytes | None) -> None: ...


class ProcessGuard:
    """A guard that records nothing and locks only within this process (tools used without a session)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def before_write(self, path: Path, current: bytes | None, current_mode: int | None, data: bytes | None) -> None:
        return None

    def after_write(self, path: Path, data: bytes | None) -> None:
        return None


class ChangedSinceRead(OSError):
    """The file is not what the tool read: another writer (a session, the user) changed it in between. An OSError,
    so a multi-file write rolls back what it wrote before it (tools.apply_patch)."""

    def __init__(self, display: str) -> None:
        super().__init__(errno.EAGAIN, f"{display} changed since you read it (another session or the user wrote "
                                       "it); read_file it again and redo the edit")
