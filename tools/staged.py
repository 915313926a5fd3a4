"""Writing several files all or nothing, as far as the OS allows: every file's new bytes are staged first
(a named temporary file beside each target, in tools.atomic's naming, its mode set and its bytes synced), and
only when all are staged are they renamed over their targets in one tight pass. A writer killed before that
pass leaves every target as it was; its temporaries carry its pid and are swept by the next write of the same
file (tools.atomic's sweep). What remains is the pass itself: a kill between two renames leaves the files
renamed so far changed (one `rename` each, no I/O in between)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
from dataclasses import dataclass

from tools.atomic import _sweep_at, _tmp_name, current_umask
from tools.beneath import LinkRefused, lstat_at

FAULT_ENV = "DUET_FAULT_STAGED"
"""Test hook: `kill-before-rename` makes the process SIGKILL itself once every file is staged (what a kill -9
at the worst moment before the rename pass does), so a test can prove nothing was changed."""


@dataclass
class Staged:
    """One file's new bytes, complete on disk under a temporary name beside the target."""

    dir_fd: int
    name: str
    tmp: str

    def commit(self) -> None:
        os.rename(self.tmp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.tmp, dir_fd=self.dir_fd)


def stage_at(dir_fd: int, name: str, data: bytes) -> Staged:
    """Write `data` to a synced temporary file beside `name` (in the directory `dir_fd`), with the mode an
    existing `name` has (else what the umask allows). A link or non-file at `name` is refused (LinkRefused,
    IsADirectoryError: OSErrors); leftovers of a writer that no longer runs are swept first."""
    existing = lstat_at(dir_fd, name)
    if existing is not None and stat.S_ISLNK(existing.st_mode):
        raise LinkRefused(name)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a regular file", name)
    mode = existing.st_mode & 0o7777 if existing is not None else 0o666 & ~current_umask()
    _sweep_at(dir_fd, name)
    tmp = _tmp_name(name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    staged = Staged(dir_fd, name, tmp)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        staged.discard()
        raise
    finally:
        os.close(fd)
    return staged


def commit_all(staged: list[Staged]) -> int:
    """Rename every staged file over its target, in one pass; returns how many were renamed before an OSError
    (re-raised with `.renamed` set) so the caller can roll those back. The rest are discarded on failure."""
    if os.environ.get(FAULT_ENV) == "kill-before-rename":
        os.kill(os.getpid(), signal.SIGKILL)
    done = 0
    try:
        for item in staged:
            item.commit()
            done += 1
    except OSError as exc:
        for item in staged[done:]:
            item.discard()
        exc.renamed = done  # type: ignore[attr-defined]
        raise
    for dir_fd in {item.dir_fd for item in staged}:  # the renames themselves survive a power cut, after the pass
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    return done
