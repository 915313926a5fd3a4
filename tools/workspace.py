"""Path confinement, secret files, reading and writing text files, and stale-file checks."""

from __future__ import annotations

from pathlib import Path

from tools import textfile
from tools.atomic import atomic_write_bytes
from tools.base import FileStamp, ToolContext, ToolError
from tools.protected import refuse_protected
from tools.secret_files import SECRET_ENV_NAME, SecretFiles
from tools.textfile import NotTextError, TextDoc, looks_binary

__all__ = ["SECRET_ENV_NAME", "is_secret_path"]


def is_secret_path(path: Path, secret_files: SecretFiles | None = None) -> bool:
    """Is `path` (a bare name or a workspace-relative path) one of the secret files? (See tools.secret_files.)"""
    return (secret_files or SecretFiles()).match(path)


def resolve(ctx: ToolContext, path: str, *, must_exist: bool = False, write: bool = False) -> Path:
    """The absolute path for a workspace-relative `path`, refusing anything that leads outside.

    `write`: the path is about to be written, moved or deleted, so protected directories are refused too.
    """
    if not path or "\x00" in path:
        raise ToolError("path is empty or invalid")
    root = ctx.root.resolve()
    raw = Path(path)
    if raw.is_absolute():
        raise ToolError(f"{path}: absolute paths are not allowed; use a path relative to the workspace root")
    if ".." in raw.parts:
        raise ToolError(f"{path}: '..' is not allowed; paths must stay inside the workspace")
    target = (root / raw).resolve()  # follows symlinks, so a link pointing outside is caught here
    if target != root and root not in target.parents:
        raise ToolError(f"{path}: resolves outside the workspace (through a symlink)")
    if write:
        refuse_protected(root, target, path)
    if must_exist and not target.exists():
        raise ToolError(f"{path}: no such file")
    # The name asked for and the file it leads to: a link named notes.txt may point at .env.
    if not ctx.allow_secret_files and (ctx.secret_files.match(raw) or ctx.secret_files.match(target.relative_to(root))):
        raise ToolError(f"{path}: looks like a secrets file; Duet does not read or write those")
    return target


def rel(ctx: ToolContext, path: Path) -> str:
    return path.relative_to(ctx.root.resolve()).as_posix()


def is_binary(data: bytes) -> bool:
    """A NUL or mostly control bytes near the start; a Latin-1 byte alone does not make a file binary."""
    return looks_binary(data)


def read_doc(path: Path) -> TextDoc:
    """The file as text plus how it is stored (encoding, line endings), or ToolError for binary files."""
    try:
        return textfile.load(path)
    except NotTextError as exc:
        raise ToolError(f"{path.name}: {exc}; not shown") from None


def read_text(path: Path) -> str:
    """The file's text with LF line breaks."""
    return read_doc(path).text


def encode_for(doc: TextDoc, text: str, display: str) -> bytes:
    """The bytes that store `text` the way `doc`'s file is stored, or ToolError naming what cannot be."""
    try:
        return doc.encode(text)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise ToolError(f"{display} is stored as {doc.encoding}, which cannot hold {bad!r}; "
                        "write that character another way (for example as an escape)") from None


def stamp(path: Path) -> FileStamp:
    st = path.stat()
    return FileStamp(mtime_ns=st.st_mtime_ns, size=st.st_size)


def remember(ctx: ToolContext, path: Path) -> None:
    """Record the file as the model now knows it."""
    if path.exists():
        ctx.read_stamps[path] = stamp(path)


def check_not_stale(ctx: ToolContext, path: Path, display: str, *, require_read: bool) -> None:
    """Refuse to overwrite a file that changed on disk since the model last saw it."""
    if not path.exists():
        return
    known = ctx.read_stamps.get(path)
    if known is None:
        if require_read:
            raise ToolError(f"{display} exists and you have not read it; read_file it before overwriting")
        return
    if stamp(path) != known:
        raise ToolError(f"{display} changed on disk since you last read it; read_file it again first")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace `path` in one step (bytes as given; str as UTF-8), keeping its mode; see tools.atomic."""
    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
