"""A session's checkpoint: taken before its first change, and recorded again at the end of each run, so that
`agent undo` can restore the work tree without touching anything changed since by someone else.

In a git repository both are commits on private refs (see agent.undo.gitstore): the user's branch, index, stash
and commits are never touched. Outside git, each file is copied before its first change (agent.undo.copystore).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.transcript import DUET_DIR
from agent.undo import copy_store, gitstore
from agent.undo.gitsnap import IDENTITY, is_repo_root
from agent.undo.model import UndoError
from tools.secret_files import SecretFiles

__all__ = ["EXCLUDE_DUET", "IDENTITY", "Checkpoint", "CheckpointError"]

CheckpointError = UndoError
EXCLUDE_DUET = f":(exclude){DUET_DIR}"


class Checkpoint:
    """One session's checkpoint; `ensure` is cheap after the first call."""

    def __init__(self, workspace: Path, session_id: str,
                 on_warning: Callable[[str], None] = lambda _msg: None,
                 secret_files: SecretFiles | None = None) -> None:
        self.workspace = workspace.resolve()
        self.secret_files = secret_files or SecretFiles()
        """What never enters the repository's object store (kept in Duet's private store instead)."""
        self._warn = on_warning
        self.error: str | None = None
        self.session_id = session_id
        self._git: bool | None = None
        self._taken = False
        self._changed_since_record = False

    @property
    def uses_git(self) -> bool:
        if self._git is None:
            self._git = is_repo_root(self.workspace)
        return self._git

    @property
    def ref(self) -> str:
        return gitstore.BEFORE_PREFIX + self.session_id

    def ensure(self, paths: list[Path], *, opaque: bool = False) -> None:
        """Take the checkpoint if not yet taken (git), or copy files not yet copied (no git). `opaque`: a tool
        is about to change files it cannot name (a shell command).

        A failure is reported once as a warning and never blocks the work itself.
        """
        if self.error is not None:
            return
        self._changed_since_record = True
        try:
            if self.uses_git:
                if not self._taken:
                    gitstore.take(self.workspace, self.session_id, gitstore.BEFORE_PREFIX,
                                  f"duet checkpoint before session {self.session_id}", self.secret_files)
                    self._taken = True
                return
            copy_store(self.workspace, self.session_id).before_change(paths, opaque)
        except Exception as exc:  # git or the file system failed: say so, keep working
            self._fail(exc, "could not record a checkpoint ({}); `agent undo` will not cover this session")

    def record_end(self) -> None:
        """At the end of a run: remember how Duet left every file, so undo can tell later edits apart."""
        if self.error is not None or not self._changed_since_record:
            return
        self._changed_since_record = False
        try:
            if self.uses_git:
                if self._taken:
                    gitstore.take(self.workspace, self.session_id, gitstore.AFTER_PREFIX,
                                  f"duet: the work tree as session {self.session_id} left it", self.secret_files)
                return
            copy_store(self.workspace, self.session_id).record_after()
        except Exception as exc:
            self._fail(exc, "could not record how this run left the files ({}); `agent undo` will ask for --force")

    def _fail(self, exc: Exception, template: str) -> None:
        self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self._warn(template.format(self.error))
