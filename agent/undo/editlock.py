"""The workspace's edit lock: one `fcntl` lock file per workspace under the user's state directory (never in the
repository), held by a file tool from its re-read of a file to its rename, so two sessions (or two threads) that
edit one file at once never lose an edit: the second sees the first's bytes and refuses ("changed since you
read it"), see tools.workspace."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from agent.duetdir import PRIVATE_FILE_MODE, private_dir
from agent.userdirs import state_base, workspace_key


def lock_path(workspace: Path) -> Path:
    return state_base() / "locks" / f"{workspace_key(workspace.resolve())}.lock"


class EditLock:
    """The lock of one workspace for one process (threads share it through a threading lock)."""

    def __init__(self, workspace: Path) -> None:
        self.path = lock_path(workspace)
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies holding it
                yield
            finally:
                os.close(fd)
