"""Making a run's copy of a task repository. The copy must not be a way out: a symlink kept as a link would let
the run (and its check) read or write where it points. A link to something inside the repository is replaced by
a copy of what it points to; a link pointing outside it (or nowhere, or to one of its own parent directories) is
left out, and the run's log says so."""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from pathlib import Path


def copy_repo(source: Path, copy: Path, hidden: Collection[Path] = ()) -> list[str]:
    """Copy `source` to `copy` (which must not exist); returns a note per symlink or hidden store left out.
    `hidden`: what sandboxed commands may not read (credential stores), never copied where they could."""
    root = os.path.realpath(source)
    secret = {os.path.realpath(path) for path in hidden}
    notes: list[str] = []

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            path = os.path.join(directory, name)
            if os.path.realpath(path) in secret:
                skipped.add(name)
                notes.append(f"{os.path.relpath(path, source)}: hidden from commands (a credential store), left "
                             "out of the copy")
                continue
            if not os.path.islink(path):
                continue
            target = os.path.realpath(path)
            where = os.path.relpath(path, source)
            if not _inside(target, root) or not os.path.exists(target):
                skipped.add(name)
                notes.append(f"{where}: a symlink to {os.readlink(path)} outside the task repository, left out "
                             "of the copy")
            elif os.path.isdir(target) and _inside(os.path.realpath(directory), target):
                skipped.add(name)
                notes.append(f"{where}: a symlink to one of its own parent directories, left out of the copy")
        return skipped

    # symlinks=False: the links left (inside the repository) are copied as what they point to.
    shutil.copytree(source, copy, symlinks=False, ignore=ignore)
    return notes


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
