"""Telling whether a file is now in a recorded state (agent.undo.journal): `sha256:` states by the raw bytes,
`git:` and `secret:` states by the blob `git add` would make of the file now (filters applied)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from agent.undo.gitsnap import Entry, current_entries


class Now:
    """The work tree as it is now, for a set of paths; git is asked once for all the blobs it is asked about."""

    def __init__(self, workspace: Path, git_paths: list[str], uses_git: bool) -> None:
        self.workspace = workspace
        self._git = current_entries(workspace, sorted(set(git_paths))) if uses_git and git_paths else {}
        self._uses_git = uses_git

    def _lstat(self, path: str) -> os.stat_result | None:
        try:
            return (self.workspace / path).lstat()
        except OSError:
            return None

    def exists(self, path: str) -> bool:
        """A file or a link there (a directory where a file was is not Duet's file any more)."""
        st = self._lstat(path)
        return st is not None and not stat.S_ISDIR(st.st_mode)

    def mode(self, path: str) -> str | None:
        st = self._lstat(path)
        if st is None or stat.S_ISDIR(st.st_mode):
            return None
        if stat.S_ISLNK(st.st_mode):
            return "120000"
        return "100755" if st.st_mode & 0o111 else "100644"

    def sha256(self, path: str) -> str | None:
        st = self._lstat(path)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            return "sha256:" + hashlib.sha256((self.workspace / path).read_bytes()).hexdigest()
        except OSError:
            return None

    def git_blob(self, path: str) -> str | None:
        entry = self._git.get(path)
        if entry is None and self._uses_git:
            entry = current_entries(self.workspace, [path])[path]
            self._git[path] = entry
        return entry.blob if entry is not None else None

    def matches(self, path: str, state: str | None) -> bool:
        if state is None:
            return not self.exists(path)
        kind, _, value = state.partition(":")
        if kind == "sha256":
            return self.sha256(path) == state
        return self._uses_git and self.git_blob(path) == value

    def is_back(self, path: str, before: Entry) -> bool:
        """Is `path` as it was before (content, and mode for a file that existed)?"""
        return self.matches(path, before.blob) and (before.blob is None or self.mode(path) == before.mode)


def git_paths(states: dict[str, list[str | None]]) -> list[str]:
    """The paths with a git-kind state among theirs: git hashes those now, in one call."""
    return [path for path, kinds in states.items()
            if any(s is not None and not s.startswith("sha256:") for s in kinds)]


__all__ = ["Entry", "Now", "git_paths"]
