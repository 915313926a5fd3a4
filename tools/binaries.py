"""Helper binaries Duet runs itself (git, bwrap, a browser, bash, ripgrep), found where no command can plant one.

Duet's own processes run unsandboxed and hold the API keys, so the program they start must not be one that a
model's command could have written: a `.venv/bin/git` in the workspace (first on PATH once the project's venv is
activated), a `git` in /tmp or /dev/shm. Each binary is looked up once per process, in PATH entries that are
absolute, exist, and lie outside the workspace, the temp dirs and /dev/shm; the result is resolved (links
followed) and checked again, so a link pointing into such a place is refused too. Duet's own subprocesses get
PATH made of those same entries (`clean_path`).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


def shared_temp_dirs() -> set[Path]:
    """The temp dirs every sandboxed command may write in auto-edit (the system's, $TMPDIR's, /dev/shm)."""
    return {Path(p).resolve() for p in (*SHARED_WRITABLE, tempfile.gettempdir(), os.environ.get("TMPDIR") or "/tmp")}


def _unsafe_roots(workspace: str, refused: tuple[str, ...] = ()) -> tuple[Path, ...]:
    roots = shared_temp_dirs()
    for place in (workspace, *refused):
        if place:
            roots.add(Path(place).resolve())
    return tuple(roots)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _safe_dirs(search_path: str, workspace: str, refused: tuple[str, ...] = ()) -> tuple[str, ...]:
    return _safe_dirs_for(search_path, workspace, refused, os.environ.get("TMPDIR") or "")


@functools.lru_cache(maxsize=64)
def _safe_dirs_for(search_path: str, workspace: str, refused: tuple[str, ...], tmpdir: str) -> tuple[str, ...]:
    """`_safe_dirs`, once per PATH, workspace, refused places and $TMPDIR (Duet's git calls ask it each time)."""
    roots = _unsafe_roots(workspace, refused)
    out: list[str] = []
    for entry in search_path.split(os.pathsep):
        if not entry or not os.path.isabs(entry) or not os.path.isdir(entry):
            continue  # "" and relative entries mean the current directory: the workspace, often
        if _inside(Path(entry).resolve(), roots) or _inside(Path(os.path.abspath(entry)), roots):
            continue
        out.append(entry)
    return tuple(dict.fromkeys(out))


def default_workspace() -> str:
    """The workspace of a process that was not told one: the git root above the current directory, else it."""
    here = Path.cwd().resolve()
    top = next((d for d in (here, *here.parents) if os.path.lexists(d / ".git")), here)
    return str(top)


def clean_path(workspace: Path | None = None, refused: Iterable[Path] = ()) -> str:
    """PATH for Duet's own subprocesses: the current PATH without entries a command could write (`refused`:
    more such places, e.g. every workspace where Duet let commands write)."""
    where = str(workspace.resolve()) if workspace is not None else default_workspace()
    return os.pathsep.join(_safe_dirs(os.environ.get("PATH", os.defpath), where, tuple(map(str, refused))))


def find_binary(name: str, workspace: Path | None = None, *, beside_python: bool = False,
                refused: Iterable[Path] = ()) -> str | None:
    """The resolved path of `name` outside the workspace, the temp dirs and the `refused` places, or None.
    `beside_python`: look in this interpreter's bin directory first (pinned wheels such as ripgrep install
    there). Without `workspace`, the git root of the current directory stands for it: a caller that knows the
    workspace (`-C DIR` may name one elsewhere) must pass it."""
    where = str(workspace.resolve()) if workspace is not None else default_workspace()
    return _find(name, where, os.environ.get("PATH", os.defpath), sys.executable if beside_python else "",
                 tuple(sorted(map(str, refused))))


@functools.lru_cache(maxsize=32)
def _find(name: str, workspace: str, search_path: str, python: str, refused: tuple[str, ...] = ()) -> str | None:
    roots = _unsafe_roots(workspace, refused)
    # This interpreter's own directory is as trusted as Duet's code (whoever can write there can change Duet),
    # wherever it is; only the workspace is refused there (a `.venv` of the project).
    dirs: list[tuple[str, tuple[Path, ...]]] = []
    if python:
        dirs.append((str(Path(python).parent), (Path(workspace).resolve(),)))
    dirs += [(entry, roots) for entry in _safe_dirs(search_path, workspace, refused)]
    for directory, refused_here in dirs:
        candidate = Path(directory) / name
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        # Returned resolved: a link cannot be re-pointed between this check and the run.
        real = candidate.resolve()
        if not _inside(real, refused_here) and not _inside(Path(os.path.abspath(candidate)), refused_here):
            return str(real)
    return None
