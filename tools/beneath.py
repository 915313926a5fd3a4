"""Opening paths once, beneath a directory fd, never through a symbolic link.

A process that outlived its command can swap a directory for a link (`rename(2)` with `RENAME_EXCHANGE`)
between the moment Duet checks a path and the moment it writes there. So a path is never checked as a string
and then used as one: it is opened component by component from a directory fd that Duet holds, refusing a link
at every step, and what follows (reading, creating, renaming) happens relative to the directory fd it ended in.

Linux's `openat2(2)` does the walk in the kernel (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`); where it is missing
(an older kernel, another architecture, a seccomp filter that refuses it) each component is opened with
`O_NOFOLLOW | O_DIRECTORY` relative to the one before, which gives the same guarantee.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import stat
from pathlib import Path, PurePosixPath

_SYS_OPENAT2 = 437  # the same number on x86_64 and aarch64 (the unified syscall table)
_RESOLVE_NO_MAGICLINKS, _RESOLVE_NO_SYMLINKS, _RESOLVE_BENEATH = 0x02, 0x04, 0x08
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC
_NO_OPENAT2 = (errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.E2BIG, errno.EOPNOTSUPP)


class LinkRefused(OSError):
    """A symbolic link (or something that is not a directory) lies on the way; nothing was opened through it."""

    def __init__(self, where: str, what: str = "is a symbolic link") -> None:
        super().__init__(errno.ELOOP, f"{what}; Duet does not follow links here", where)
        self.where = where


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


def _openat2(dir_fd: int, path: str, flags: int, mode: int) -> int | None:
    """openat2 beneath `dir_fd` with no links at all; None where the kernel (or a filter) does not offer it."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64", "arm64"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    tmpfile = getattr(os, "O_TMPFILE", 0)
    creates = bool(flags & os.O_CREAT) or (tmpfile != 0 and flags & tmpfile == tmpfile)
    how = _OpenHow(flags, mode if creates else 0,  # a mode without O_CREAT is EINVAL for openat2
                   _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS)
    libc.syscall.restype = ctypes.c_long
    for _attempt in range(3):
        fd = libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dir_fd), os.fsencode(path), ctypes.byref(how),
                          ctypes.c_size_t(ctypes.sizeof(how)))
        if fd >= 0:
            return int(fd)
        code = ctypes.get_errno()
        if code != errno.EAGAIN:
            break
    if code in _NO_OPENAT2 or code == errno.EAGAIN:  # EAGAIN: renames kept racing the lookup; the walk is safe too
        return None
    raise OSError(code, os.strerror(code), path)


def parts_of(relative: str | PurePosixPath) -> tuple[str, ...]:
    """The components of a relative path; ValueError for an absolute path, '..', or a NUL."""
    text = str(relative)
    if "\0" in text or text.startswith("/"):
        raise ValueError(f"{text!r} is not a relative path")
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ValueError(f"{text!r} leads up ('..')")
    return parts


def _first_odd(dir_fd: int, parts: tuple[str, ...], last_dir: bool) -> tuple[str, bool] | None:
    """The leading part of `parts` that is a link (True) or a file where a directory should be (False)."""
    for n in range(1, len(parts) + 1):
        try:
            st = os.stat("/".join(parts[:n]), dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            return "/".join(parts[:n]), True
        if (n < len(parts) or last_dir) and not stat.S_ISDIR(st.st_mode):
            return "/".join(parts[:n]), False
    return None


def _refused(dir_fd: int, parts: tuple[str, ...], exc: OSError, *, last_dir: bool = True) -> OSError:
    """The error for a failed open: LinkRefused when a link was (or, swapped away again, had been) on the way."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EXDEV):
        odd = _first_odd(dir_fd, parts, last_dir)
        if odd is not None:
            return LinkRefused(odd[0]) if odd[1] else exc
        return LinkRefused("/".join(parts))  # nothing odd there now: a link was swapped away before we looked
    return exc


def open_beneath(dir_fd: int, relative: str | PurePosixPath, flags: int, mode: int = 0o666) -> int:
    """Open `relative` beneath `dir_fd` (`os.open` flags and mode), with no link anywhere on the way, the last
    component included: LinkRefused if there is one, another OSError as `open` gives it."""
    parts = parts_of(relative)
    flags |= os.O_CLOEXEC | os.O_NOFOLLOW
    if not parts:
        return os.open(".", flags & ~os.O_NOFOLLOW, mode, dir_fd=dir_fd)
    try:
        fd = _openat2(dir_fd, "/".join(parts), flags, mode)
        return fd if fd is not None else _walk(dir_fd, parts, flags, mode)
    except OSError as exc:
        raise _refused(dir_fd, parts, exc, last_dir=bool(flags & os.O_DIRECTORY)) from None


def _walk(dir_fd: int, parts: tuple[str, ...], flags: int, mode: int, *, make: bool = False) -> int:
    """Open each directory of `parts` with O_NOFOLLOW relative to the one before (made when `make`), then the
    last component with `flags`."""
    current = dir_fd
    try:
        for n, part in enumerate(parts[:-1]):
            try:
                step = _open_step(current, part, make=make)
            except NotADirectoryError:
                raise LinkRefused("/".join(parts[:n + 1])) from None
            if current != dir_fd:
                os.close(current)
            current = step
        if flags & os.O_DIRECTORY:
            try:
                return _open_step(current, parts[-1], make=make)
            except NotADirectoryError:
                raise LinkRefused("/".join(parts)) from None
        return os.open(parts[-1], flags, mode, dir_fd=current)
    finally:
        if current != dir_fd:
            os.close(current)


def _open_step(current: int, part: str, *, make: bool) -> int:
    """One directory of a walk, not following a link (made first when missing and `make`). NotADirectoryError
    only for a link (there now, or swapped away since the open saw it): a plain file in the way is ENOTDIR as
    an ordinary OSError."""
    try:
        return os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=current)
    except FileNotFoundError:
        if not make:
            raise
        with contextlib.suppress(FileExistsError):
            os.mkdir(part, 0o777, dir_fd=current)
        return _open_step(current, part, make=False)
    except NotADirectoryError:
        found = lstat_at(current, part)
        if found is not None and stat.S_ISREG(found.st_mode):
            raise OSError(errno.ENOTDIR, "a file is in the way, not a directory", part) from None
        raise


def open_dir_beneath(dir_fd: int, relative: str | PurePosixPath, *, make: bool = False) -> int:
    """A directory fd for `relative` beneath `dir_fd` (made, with any missing parents, when `make`), reached
    without following any link; LinkRefused when a link (or a file) is on the way."""
    parts = parts_of(relative)
    try:
        return open_beneath(dir_fd, relative, _DIR_FLAGS)
    except FileNotFoundError:
        if not make:
            raise
    try:
        return _walk(dir_fd, parts, _DIR_FLAGS | os.O_NOFOLLOW, 0, make=True)
    except OSError as exc:
        raise _refused(dir_fd, parts, exc) from None


def open_dir(path: Path, *, make: bool = False) -> int:
    """A directory fd for the absolute (or cwd-relative) `path`, reached from `/` (or the working directory)
    without following any link on the way; made, with missing parents, when `make`."""
    path = Path(os.path.abspath(path))  # lexical: '..' is folded as written, no link is looked at
    anchor = os.open("/", _DIR_FLAGS)
    try:
        return open_dir_beneath(anchor, PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else ".", make=make)
    except LinkRefused as exc:
        raise LinkRefused("/" + exc.where) from None
    finally:
        os.close(anchor)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    """`name` in the directory `dir_fd`, not following a link; None when there is nothing there."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def read_at(dir_fd: int, name: str) -> bytes:
    """The bytes of the regular file `name` in `dir_fd`: LinkRefused for a link, IsADirectoryError for a
    directory, OSError for anything else that is not a regular file (a FIFO would block)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LinkRefused(name) from None
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", name)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
