"""Workspace files in a stable order, honouring .gitignore files at every level (like ripgrep).

Symbolic links are not followed, to files or directories, as ripgrep does not: `notes.txt -> db.pem` would show a
secret under an innocent name, `out.txt -> ../outside.txt` a file outside the workspace.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec


ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


def glob_match(relative: str, glob: str) -> bool:
    """`glob` against the whole relative path, or against the file name alone (`*.py` matches `a/b.py`)."""
    return fnmatch.fnmatch(relative, glob) or fnmatch.fnmatch(relative.rsplit("/", 1)[-1], glob)


def _load_ignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    path = directory / ".gitignore"
    if not path.is_file():
        return None
    import pathspec  # only where a walk meets a .gitignore (git lists files itself)

    try:
        return pathspec.GitIgnoreSpec.from_lines(path.read_text(encoding="utf-8", errors="replace").splitlines())
    except (OSError, ValueError):
        return None


def walk_files(root: Path, start: Path | None = None, *, hidden: bool = False) -> Iterator[Path]:
    """Files under `start` (default `root`), sorted by path, skipping ignored and (by default) hidden ones."""
    root = root.resolve()
    start = (start or root).resolve()
    specs: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
    # .gitignore files between the root and the start directory apply too.
    for parent in [root, *reversed([p for p in start.parents if root in p.parents])]:
        spec = _load_ignore(parent)
        if spec:
            specs.append((parent, spec))
    if start != root and (spec := _load_ignore(start)):
        specs.append((start, spec))
    yield from _walk(start, specs, hidden)


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
    verdict = False
    for base, spec in specs:
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        result = spec.check_file(relative)
        if result.include is not None:
            verdict = bool(result.include)
    return verdict


def _walk(directory: Path, specs: list[tuple[Path, pathspec.GitIgnoreSpec]], hidden: bool) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name in ALWAYS_SKIPPED_DIRS or (not hidden and entry.name.startswith(".")):
            continue
        path = Path(entry.path)
        is_dir = entry.is_dir(follow_symlinks=False)
        if _ignored(path, is_dir, specs):
            continue
        if is_dir:
            spec = _load_ignore(path)
            yield from _walk(path, [*specs, (path, spec)] if spec else specs, hidden)
        elif entry.is_file(follow_symlinks=False):  # as ripgrep: a link may lead to a secret or out of the tree
            yield path
