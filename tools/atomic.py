"""Atomic file writes that leave nothing behind, even after kill -9.

The new bytes go to an unnamed file (Linux `O_TMPFILE`) that only gets a name once it is complete, and
is then renamed over the target in one step: a writer killed at any moment leaves either the old file or
the new one, never half of either, and no stray temporary file. Where `O_TMPFILE` is not available a
named temporary file carrying the writer's pid is used instead, and the next write to the same file
removes any such file whose writer is gone.

New files get the mode the umask allows (usually 0644, as `open()` would give); existing files keep theirs.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}{TMP_SUFFIX}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temps(path: Path) -> None:
    """Remove temporary files left beside `path` by a writer that no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[0-9a-f]{{8}}{re.escape(TMP_SUFFIX)}$")
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            m = pattern.match(entry.name)
            if m and not _pid_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data` in one step, keeping an existing file's mode."""
    with atomic_writer(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_writer(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A file to write `path`'s new contents to, a piece at a time; leaving the block replaces (or creates)
    `path` with them in one step, keeping an existing file's mode. An exception leaves `path` as it was and
    nothing beside it. `durable` syncs the contents to disk before the rename (an export that can be made
    again need not wait for that)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    sweep_stale_temps(path)
    tmp = _tmp_name(path)
    fd = _open_unnamed(path.parent, mode)
    unnamed = fd is not None
    if fd is None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20, closefd=False) as handle:
            yield handle
        os.fchmod(fd, mode)  # the creation mode was filtered by the umask; an existing mode is kept
        if durable:
            os.fsync(fd)
        if unnamed:  # give the finished file a name, then move it over the target: the name exists for an instant
            _link_unnamed(fd, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)


def _link_unnamed(fd: int, name: Path) -> None:
    """Name an O_TMPFILE file. Passing a directory fd makes Python call linkat(AT_SYMLINK_FOLLOW) rather
    than link(), which would try to link /proc's magic symlink itself."""
    dir_fd = os.open(name.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", name.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=True)
    finally:
        os.close(dir_fd)


def _open_unnamed(directory: Path, mode: int) -> int | None:
    """An unnamed file in `directory`, or None where the OS or file system cannot make one."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not Path("/proc/self/fd").is_dir():
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, mode)
    except OSError:
        return None
