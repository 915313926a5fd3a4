"""Writing several files all or nothing, as far as the OS allows: every file's new bytes are staged first
(an unnamed `O_TMPFILE` file in the target's directory, else a named temporary in tools.atomic's naming, its
mode set and its bytes synced), and only when all are staged are they named and renamed over their targets in
one tight pass. A writer killed before that pass leaves every target as it was and, with unnamed files, nothing
beside them (named temporaries carry the writer's pid and are swept by the next write of the same file). What
remains is the pass itself: a kill inside it leaves the files renamed so far changed and, at worst, named
temporaries of the rest (swept as above): two syscalls a file, no I/O of contents."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
from dataclasses import dataclass

from tools.atomic import _open_unnamed, _sweep_at, _tmp_name, current_umask
from tools.beneath import LinkRefused, lstat_at

FAULT_ENV = "DUET_FAULT_STAGED"
"""Test hook: `kill-before-rename` makes the process SIGKILL itself once every file is staged (what a kill -9
at the worst moment before the rename pass does), so a test can prove nothing was changed."""


@dataclass
class Staged:
    """One file's new bytes, complete and synced on disk: an unnamed file (Linux `O_TMPFILE`, held open as `fd`)
    or, where the OS has none, a named temporary beside the target."""

    dir_fd: int
    name: str
    tmp: str
    fd: int | None = None
    """The unnamed file's descriptor (None: `tmp` already exists on disk)."""

    def link(self) -> None:
        """Give an unnamed file its temporary name (the first step of the pass)."""
        if self.fd is not None:
            os.link(f"/proc/self/fd/{self.fd}", self.tmp, dst_dir_fd=self.dir_fd, follow_symlinks=True)
            self.close()

    def commit(self) -> None:
        os.rename(self.tmp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def discard(self) -> None:
        if self.fd is not None:  # never named: closing it is removing it
            self.close()
            return
        with contextlib.suppress(OSError):
            os.unlink(self.tmp, dir_fd=self.dir_fd)


def stage_at(dir_fd: int, name: str, data: bytes) -> Staged:
    """Write `data` to a synced file beside `name` (in the directory `dir_fd`) that is not yet in the target's
    place, with the mode an existing `name` has (else what the umask allows). A link or non-file at `name` is
    refused (LinkRefused, IsADirectoryError: OSErrors); leftovers of a writer that no longer runs are swept."""
    existing = lstat_at(dir_fd, name)
    if existing is not None and stat.S_ISLNK(existing.st_mode):
        raise LinkRefused(name)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a regular file", name)
    mode = existing.st_mode & 0o7777 if existing is not None else 0o666 & ~current_umask()
    _sweep_at(dir_fd, name)
    tmp = _tmp_name(name)
    unnamed = _open_unnamed(dir_fd, mode)
    if unnamed is None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    else:
        fd = unnamed
    staged = Staged(dir_fd, name, tmp, fd if unnamed is not None else None)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        staged.discard()
        if unnamed is None:
            os.close(fd)
        raise
    if unnamed is None:
        os.close(fd)
    return staged


def commit_all(staged: list[Staged]) -> int:
    """Rename every staged file over its target, in one pass; returns how many were renamed before an OSError
    (re-raised with `.renamed` set) so the caller can roll those back. The rest are discarded on failure."""
    if os.environ.get(FAULT_ENV) == "kill-before-rename":
        os.kill(os.getpid(), signal.SIGKILL)
    done = 0
    try:
        for item in staged:  # names first (unnamed files only), then every rename: no I/O of contents in the pass
            item.link()
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
