"""Path confinement, secret files, reading and writing text files, and stale-file checks.

Every path a file tool touches is opened once beneath the workspace root's fd, refusing links on the way
(`open_path`), and read, written and renamed relative to the directory fd that gives (tools.beneath)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tools import textfile
from tools.atomic import atomic_write_at
from tools.base import FileStamp, ToolContext, ToolError
from tools.beneath import LinkRefused, lstat_at, open_dir_beneath, read_at
from tools.protected import refuse_protected
from tools.secret_files import SECRET_ENV_NAME, SecretFiles
from tools.textfile import NotTextError, TextDoc, looks_binary
from tools.writeguard import ChangedSinceRead, ProcessGuard, WriteGuard

__all__ = ["SECRET_ENV_NAME", "is_secret_path"]


def is_secret_path(path: Path, secret_files: SecretFiles | None = None) -> bool:
    """Is `path` (a bare name or a workspace-relative path) one of the secret files? (See tools.secret_files.)"""
    return (secret_files or SecretFiles()).match(path)


def _checked(ctx: ToolContext, path: str, *, write: bool) -> tuple[Path, PurePosixPath]:
    """The workspace root and `path` as a relative path, refused when it is absolute, leads up, names a
    protected directory (when written) or a secret file."""
    if not path or "\x00" in path:
        raise ToolError("path is empty or invalid")
    root = ctx.root.resolve()
    raw = PurePosixPath(path)
    if raw.is_absolute():
        raise ToolError(f"{path}: absolute paths are not allowed; use a path relative to the workspace root")
    if ".." in raw.parts:
        raise ToolError(f"{path}: '..' is not allowed; paths must stay inside the workspace")
    if write:
        refuse_protected(root, root / raw, path)
    if ctx.secret_files.match(Path(raw)):
        raise ToolError(f"{path}: looks like a secrets file; Duet does not read or write those")
    return root, raw


def _link_error(ctx: ToolContext, root: Path, path: str, where: str, *, write: bool) -> ToolError:
    """The refusal for a link on the way to `path` (nothing was opened through it), saying where it leads so
    the model can use the real path. Looked at only to word the message: the link is refused either way."""
    try:
        real = Path(os.path.realpath(root / where))
    except OSError:  # changed again while we looked (a link being swapped): say what is known
        return ToolError(f"{path}: {where} is (or was just now) a symbolic link; Duet's file tools do not follow "
                         "links, nothing was opened through it")
    if real != root and root not in real.parents:
        return ToolError(f"{path}: resolves outside the workspace (through the symlink {where})")
    if write:
        refuse_protected(root, real, path)
    shown = real.relative_to(root).as_posix() or "."
    if ctx.secret_files.match(real.relative_to(root)):
        return ToolError(f"{path}: looks like a secrets file; Duet does not read or write those")
    return ToolError(f"{path}: {where} is a symbolic link to {shown}; Duet's file tools do not follow links, "
                     "use the real path")


@dataclass
class Opened:
    """A workspace file reached once, beneath the workspace root's fd and without following any link: the
    directory it lies in is held open, and every read, write and rename happens relative to that fd, so a
    directory swapped for a link afterwards changes nothing (see tools.beneath)."""

    path: Path
    """root / the relative path: the file's name for stamps, checkpoints and messages (never opened as a string)."""
    display: str
    root_fd: int
    parent: PurePosixPath
    name: str
    dir_fd: int | None
    """The directory's fd; None while the directory does not exist (made by `write`)."""
    guard: WriteGuard = field(default_factory=ProcessGuard)
    """What every write passes through (the workspace's edit lock, the checkpoint's record)."""
    _seen: tuple[int, int, int] | None = field(default=None, init=False, repr=False)
    """The file's identity when opened (None: absent): a write refuses a file changed since, unless it was read."""
    _read_digest: str | None = field(default=None, init=False, repr=False)
    """The digest of what was last read (or written) through this handle: the base of the tool's edit."""

    def __post_init__(self) -> None:
        self._seen = _identity(self.lstat())

    def lstat(self) -> os.stat_result | None:
        return None if self.dir_fd is None else lstat_at(self.dir_fd, self.name)

    def exists(self) -> bool:
        return self.lstat() is not None

    def is_dir(self) -> bool:
        st = self.lstat()
        return st is not None and stat.S_ISDIR(st.st_mode)

    def read_bytes(self) -> bytes:
        if self.dir_fd is None:
            raise ToolError(f"{self.display}: no such file")
        try:
            data = read_at(self.dir_fd, self.name)
        except LinkRefused:
            raise ToolError(f"{self.display} is a symbolic link; Duet's file tools do not follow links, "
                            "use the real path") from None
        except IsADirectoryError:
            raise ToolError(f"{self.display} is a directory") from None
        except OSError as exc:
            raise ToolError(f"{self.display}: cannot read it ({exc.strerror})") from None
        self._read_digest = _digest(data)
        return data

    def read_doc(self) -> TextDoc:
        """The file as text plus how it is stored (encoding, line endings), or ToolError for binary files."""
        data = self.read_bytes()
        try:
            return textfile.decode(data)
        except NotTextError as exc:
            raise ToolError(f"{self.path.name}: {exc}; not shown") from None

    def write(self, data: bytes) -> None:
        """Replace (or create) the file in one step, keeping its mode; a missing directory is made beneath the
        workspace root without following links. OSError when the disk refuses; ChangedSinceRead (an OSError)
        when someone else changed the file since this handle read it (or, unread, since it was opened)."""
        with self.guard.locked():  # compare and write under the workspace's edit lock: no edit is lost
            current, mode = self._unchanged()
            self.guard.before_write(self.path, current, mode, data)  # the record of the file is durable first
            if self.dir_fd is None:
                self.dir_fd = open_dir_beneath(self.root_fd, self.parent, make=True)
            atomic_write_at(self.dir_fd, self.name, data)
            self._read_digest, self._seen = _digest(data), _identity(self.lstat())
            self.guard.after_write(self.path, data)

    def unlink(self) -> None:
        if self.dir_fd is None:
            return
        with self.guard.locked():
            current, mode = self._unchanged()
            if current is None and self.lstat() is None:
                return
            self.guard.before_write(self.path, current, mode, None)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.name, dir_fd=self.dir_fd)
            self._read_digest, self._seen = None, None
            self.guard.after_write(self.path, None)

    def _unchanged(self) -> tuple[bytes | None, int | None]:
        """The file's bytes and mode now (None: absent, or not a regular file), or ChangedSinceRead when it is
        not what this handle last read (or, never read, not the file it opened)."""
        st = self.lstat()
        current: bytes | None = None
        if st is not None and stat.S_ISREG(st.st_mode) and self.dir_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                current = read_at(self.dir_fd, self.name)
        if self._read_digest is not None:
            if current is None or _digest(current) != self._read_digest:
                raise ChangedSinceRead(self.display)
        elif _identity(st) != self._seen:
            raise ChangedSinceRead(self.display)
        return current, None if st is None else st.st_mode

    def close(self) -> None:
        for fd in {self.dir_fd, self.root_fd} - {None}:
            os.close(fd)  # type: ignore[arg-type]
        self.dir_fd = None

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _identity(st: os.stat_result | None) -> tuple[int, int, int] | None:
    """What tells one version of a file from another without reading it (every atomic write is a new inode)."""
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)


def open_path(ctx: ToolContext, path: str, *, write: bool = False) -> Opened:
    """`path` (workspace-relative) opened once beneath the workspace root, refusing anything that leads outside,
    any link on the way, and (when `write`) protected directories. Close it (it is a context manager)."""
    root, raw = _checked(ctx, path, write=write)
    if not raw.parts:
        raise ToolError(f"{path}: names the workspace itself, not a file")
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    parent = raw.parent
    try:
        dir_fd: int | None = open_dir_beneath(root_fd, parent)
    except FileNotFoundError:
        dir_fd = None
    except LinkRefused as exc:
        os.close(root_fd)
        raise _link_error(ctx, root, path, exc.where, write=write) from None
    except OSError as exc:
        os.close(root_fd)
        raise ToolError(f"{path}: {parent.as_posix()} is not a directory you can open ({exc.strerror})") from None
    opened = Opened(path=root / raw, display=path, root_fd=root_fd, parent=parent, name=raw.name, dir_fd=dir_fd,
                    guard=ctx.write_guard)
    st = opened.lstat()
    if st is not None and stat.S_ISLNK(st.st_mode):
        opened.close()
        raise _link_error(ctx, root, path, raw.as_posix(), write=write)
    return opened


def resolve(ctx: ToolContext, path: str, *, must_exist: bool = False, write: bool = False) -> Path:
    """The absolute path for a workspace-relative `path`, refusing anything that leads outside and any link on the
    way (checked beneath the root's fd, see `open_path`; tools that write use `open_path` itself).

    `write`: the path is about to be written, moved or deleted, so protected directories are refused too.
    """
    root, raw = _checked(ctx, path, write=write)
    if not raw.parts:
        return root
    with open_path(ctx, path, write=write) as opened:
        if must_exist and not opened.exists():
            raise ToolError(f"{path}: no such file")
        return opened.path


def rel(ctx: ToolContext, path: Path) -> str:
    return path.relative_to(ctx.root.resolve()).as_posix()


def is_binary(data: bytes) -> bool:
    """A NUL or mostly control bytes near the start; a Latin-1 byte alone does not make a file binary."""
    return looks_binary(data)


def encode_for(doc: TextDoc, text: str, display: str) -> bytes:
    """The bytes that store `text` the way `doc`'s file is stored, or ToolError naming what cannot be."""
    try:
        return doc.encode(text)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise ToolError(f"{display} is stored as {doc.encoding}, which cannot hold {bad!r}; "
                        "write that character another way (for example as an escape)") from None


def stamp(opened: Opened) -> FileStamp | None:
    st = opened.lstat()
    return None if st is None else FileStamp(mtime_ns=st.st_mtime_ns, size=st.st_size)


def remember(ctx: ToolContext, opened: Opened) -> None:
    """Record the file as the model now knows it."""
    known = stamp(opened)
    if known is not None:
        ctx.read_stamps[opened.path] = known


def check_not_stale(ctx: ToolContext, opened: Opened, *, require_read: bool) -> None:
    """Refuse to overwrite a file that changed on disk since the model last saw it."""
    now = stamp(opened)
    if now is None:
        return
    known = ctx.read_stamps.get(opened.path)
    if known is None:
        if require_read:
            raise ToolError(f"{opened.display} exists and you have not read it; read_file it before overwriting")
        return
    if now != known:
        raise ToolError(f"{opened.display} changed on disk since you last read it; read_file it again first")


def write_or_explain(target: Opened, data: bytes) -> None:
    """`target.write(data)`, with a link found on the way (swapped in since it was opened) or a full disk turned
    into a ToolError the model can read; the file is as it was."""
    try:
        target.write(data)
    except ChangedSinceRead as exc:
        raise ToolError(f"{exc.strerror}; nothing was written") from None
    except LinkRefused:
        raise ToolError(f"{target.display}: a symbolic link appeared on the way; Duet's file tools do not follow "
                        "links, nothing was written") from None
    except OSError as exc:
        raise ToolError(f"{target.display}: cannot write it ({exc.strerror or exc}); the file is as it was") from None
