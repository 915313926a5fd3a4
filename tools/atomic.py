"""Atomic file writes that leave nothing behind, even after kill -9.

The new bytes go to an unnamed file (Linux `O_TMPFILE`) that only gets a name once it is complete, and
is then renamed over the target in one step: a writer killed at any moment leaves either the old file or
the new one, never half of either, and no stray temporary file. Where `O_TMPFILE` is not available a
named temporary file carrying the writer's pid is used instead, and the next write to the same file
removes any such file whose writer is gone.

New files get the mode the umask allows (usually 0644, as `open()` would give); existing files keep theirs.
Nothing is written through a link: the directory is opened once without following any (tools.beneath), and
every step after that is relative to its fd.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tools.beneath import LinkRefused, lstat_at, open_dir

TMP_SUFFIX = ".duet-tmp"


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # the portable way: set and restore
    os.umask(mask)
    return mask


def _tmp_name(name: str) -> str:
    return f".{name}.{os.getpid()}.{os.urandom(4).hex()}{TMP_SUFFIX}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_at(dir_fd: int, name: str) -> None:
    """Remove temporary files left beside `name` (in the directory `dir_fd`) by a writer that no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(\d+)\.[0-9a-f]{{8}}{re.escape(TMP_SUFFIX)}$")
    with contextlib.suppress(OSError):
        listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            names = os.listdir(listing)
        finally:
            os.close(listing)
        for entry in names:
            m = pattern.match(entry)
            if m and not _pid_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry, dir_fd=dir_fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data` in one step, keeping an existing file's mode."""
    with atomic_writer(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_writer(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A file to write `path`'s new contents to, a piece at a time; leaving the block replaces (or creates)
    `path` with them in one step, keeping an existing file's mode. An exception leaves `path` as it was and
    nothing beside it. `durable` syncs the contents to disk before the rename (an export that can be made
    again need not wait for that).

    No link is followed on the way: the directory is reached from `/` refusing every link (and made if
    missing), and the file is created and renamed relative to that directory's fd (see tools.beneath); a link
    where the file would go is refused too (LinkRefused, an OSError)."""
    dir_fd = open_dir(path.parent, make=True)
    try:
        with atomic_writer_at(dir_fd, path.name, durable=durable) as handle:
            yield handle
    finally:
        os.close(dir_fd)


def atomic_write_at(dir_fd: int, name: str, data: bytes, *, mode: int | None = None) -> None:
    """`atomic_write_bytes` for the file `name` in the directory open as `dir_fd`."""
    with atomic_writer_at(dir_fd, name, mode=mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_writer_at(dir_fd: int, name: str, *, durable: bool = True, mode: int | None = None) -> Iterator[BinaryIO]:
    """`atomic_writer` for the file `name` in the directory open as `dir_fd`: every step (the mode read, the
    temporary file, the rename) is relative to that fd, so nothing swapped in on the way is followed.
    `mode` sets the file's mode (default: an existing file's, else what the umask allows)."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"{name!r} is not a file name")
    existing = lstat_at(dir_fd, name)
    if existing is not None and stat.S_ISLNK(existing.st_mode):
        raise LinkRefused(name)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory" if stat.S_ISDIR(existing.st_mode)
                                else "not a regular file", name)
    if mode is None:
        mode = existing.st_mode & 0o7777 if existing is not None else 0o666 & ~current_umask()
    _sweep_at(dir_fd, name)
    tmp = _tmp_name(name)
    fd = _open_unnamed(dir_fd, mode)
    unnamed = fd is not None
    if fd is None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20, closefd=False) as handle:
            yield handle
        os.fchmod(fd, mode)  # the creation mode was filtered by the umask; an existing mode is kept
        if durable:
            os.fsync(fd)
        if unnamed:  # give the finished file a name, then move it over the target: the name exists for an instant
            os.link(f"/proc/self/fd/{fd}", tmp, dst_dir_fd=dir_fd, follow_symlinks=True)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # replaces a link swapped in, never follows it
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    finally:
        os.close(fd)


def _open_unnamed(dir_fd: int, mode: int) -> int | None:
    """An unnamed file in the directory `dir_fd`, or None where the OS or file system cannot make one."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not Path("/proc/self/fd").is_dir():
        return None
    try:
        return os.open(".", flag | os.O_WRONLY | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError:
        return None
