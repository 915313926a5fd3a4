"""A session's checkpoint: the record of exactly what this session changed, so that `agent undo` restores those
files and nothing else (agent.undo.journal).

- A file tool's write passes through `before_write` / `after_write` (the session's `tools.writeguard.WriteGuard`),
  under the workspace's edit lock: the file's bytes before the session's first change to it and the state about
  to be written are on disk before the write starts.
- A shell command (`ensure(opaque=True)`, then `settle()` after it) is bracketed by two snapshots of the work tree
  (git only): what differs between them is the command's. Outside git, the record says shell changes cannot be
  named.
- In git, the whole work tree before the session's first change is also kept on `refs/duet/checkpoints/<id>`
  (the TUI's `/diff` compares against it), taken once: a resumed session never takes it again.

A failure is reported once as a warning and never blocks the work itself.
"""

from __future__ import annotations

import contextlib
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from agent.transcript import DUET_DIR, StateWriteError
from agent.undo import gitstore, journal_dir
from agent.undo.editlock import EditLock
from agent.undo.gitsnap import IDENTITY, MAX_UNTRACKED_FILE_BYTES, Snapshot, is_repo_root, snapshot
from agent.undo.journal import MANIFEST, Journal, mode_of, sha256_of
from agent.undo.model import UndoError
from tools.secret_files import SecretFiles

__all__ = ["EXCLUDE_DUET", "IDENTITY", "Checkpoint", "CheckpointUnavailable"]

EXCLUDE_DUET = f":(exclude){DUET_DIR}"


class CheckpointUnavailable(StateWriteError):
    """The record of how files were before a change cannot be made: the change is not made, and the run stops
    (exit 2) — a change `agent undo` could not take back is worse than no change."""


class Checkpoint:
    """One session's checkpoint; also the write guard of its file tools (tools.writeguard.WriteGuard)."""

    def __init__(self, workspace: Path, session_id: str,
                 on_warning: Callable[[str], None] = lambda _msg: None,
                 secret_files: SecretFiles | None = None) -> None:
        self.workspace = workspace.resolve()
        self.secret_files = secret_files or SecretFiles()
        """What never enters the repository's object store (kept in Duet's private store instead)."""
        self._warn = on_warning
        self._said_left_out: set[str] = set()
        self.error: str | None = None
        self.session_id = session_id
        self._git: bool | None = None
        self._tree_taken = False
        self._journal: Journal | None = None
        self._lock = threading.RLock()
        self._edit_lock = EditLock(self.workspace)

    @property
    def uses_git(self) -> bool:
        if self._git is None:
            self._git = is_repo_root(self.workspace)
        return self._git

    @property
    def ref(self) -> str:
        return gitstore.BEFORE_PREFIX + self.session_id

    def journal(self) -> Journal:
        """The session's record, as earlier runs of it left it (a resumed session continues it)."""
        if self._journal is None:
            self._journal = Journal.load(journal_dir(self.workspace, self.session_id))
        return self._journal

    # -- the write guard of the file tools --------------------------------------------------------------------

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self._edit_lock.held()

    def before_write(self, path: Path, current: bytes | None, current_mode: int | None, data: bytes | None) -> None:
        """Before a file tool writes `data` over `current` (None: absent / a removal): the file's first state and
        the one about to be written, on disk before the write starts."""
        self._guarded(lambda journal: self._note_write(journal, path, current, current_mode, data))

    def after_write(self, path: Path, data: bytes | None) -> None:
        """The write is done: the file is in the state written (no longer possibly in the one before)."""
        def done(journal: Journal) -> None:
            change = journal.files.get(self._relative(path))
            if change is not None:
                change.after = [None if data is None else sha256_of(data)]
                journal.save(sync=False)  # the synced record before the write already allows this state
        self._guarded(done)

    def _note_write(self, journal: Journal, path: Path, current: bytes | None, current_mode: int | None,
                    data: bytes | None) -> None:
        relative = self._relative(path)
        intended = None if data is None else sha256_of(data)
        known = journal.files.get(relative)
        if known is None:
            before = None if current is None else journal.keep_copy(current)
            journal.touch(relative, before, mode_of(current_mode), [intended])
        else:  # killed during the write: the file is in the state before it or the one written, both the session's
            known.after = [*(known.after or []), intended] if known.after is not None else [intended]
        journal.save()

    # -- the loop's hooks around a mutating tool -----------------------------------------------------------------

    def ensure(self, paths: list[Path], *, opaque: bool = False) -> None:
        """Before a mutating tool: keep the work tree before the session's first change (git, once), and before a
        command that changes files it cannot name (`opaque`), snapshot the tree (`settle` after it)."""
        def before_tool(journal: Journal) -> None:
            if self.uses_git and not self._tree_taken:
                if not gitstore.has_ref(self.workspace, self.ref):  # never retaken: one "before" per session
                    self._left_out(gitstore.take(self.workspace, self.session_id, gitstore.BEFORE_PREFIX,
                                                 f"duet checkpoint before session {self.session_id}",
                                                 self.secret_files))
                self._tree_taken = True
            if not opaque:
                return
            if self.uses_git:
                snap = self._left_out(snapshot(self.workspace, self.secret_files))
                gitstore.keep_snapshot(self.workspace, self.session_id, snap,
                                       f"duet: the work tree before a command of session {self.session_id}")
                journal.pending = {**gitstore.snapshot_record(snap), "at": time.time()}
            else:
                journal.opaque = True
            journal.save()
        self._guarded(before_tool)
        if self.error is not None:
            raise CheckpointUnavailable(f"cannot record how the files were before this change ({self.error}); the run "
                                  "stopped before making it, so `agent undo` can take back everything it changed")

    def _left_out(self, snap: Snapshot) -> Snapshot:
        """Say once per file which untracked files are too big to keep in checkpoints (undo cannot restore them)."""
        for names, what in ((snap.left_out, f"untracked file{{s}} over {MAX_UNTRACKED_FILE_BYTES >> 20} MB"),
                            (snap.nested, "repositor{ies} without a commit")):
            new = [name for name in names if name not in self._said_left_out]
            if new:
                self._said_left_out.update(new)
                plural = len(new) != 1
                kind = what.replace("{s}", "s" if plural else "").replace("{ies}", "ies" if plural else "y")
                self._warn(f"{len(new)} {kind} left out of the checkpoint (undo cannot restore "
                           f"{'them' if plural else 'it'}): {', '.join(new[:5])}{' …' if len(new) > 5 else ''}")
        return snap

    def settle(self) -> None:
        """After a command (or, for one killed during it, when the session goes on): its changes, seen against
        the snapshot before it, become the session's."""
        self._guarded(lambda _journal: None)

    def record_end(self) -> None:
        """At the end of a run: settle a command still open."""
        self.settle()

    def _settle(self, journal: Journal) -> None:
        if journal.pending is None:
            return
        old = gitstore.snapshot_of(journal.pending)
        new = snapshot(self.workspace, self.secret_files)
        changes = gitstore.command_changes(self.workspace, old, new)
        others = self._written_by_others(journal.pending.get("at"))
        for path, ((before, mode), (after, _mode)) in changes.items():
            if path in others and _state_now(self.workspace / path) in others[path]:
                continue  # another session's file tool wrote it while the command ran: not this session's
            journal.touch(path, before, mode, [after])
        journal.pending = None
        journal.save()

    @contextlib.contextmanager
    def _held(self) -> Iterator[Journal]:
        with self._lock:
            yield self.journal()

    def _guarded(self, action: Callable[[Journal], None]) -> None:
        if self.error is not None:
            return
        try:
            with self._held() as journal:
                self._settle(journal)
                action(journal)
        except Exception as exc:  # git or the file system failed: say so, keep working
            self._fail(exc, "could not record a checkpoint ({}); `agent undo` will not cover this session's "
                            "later changes")

    def _written_by_others(self, since: object) -> dict[str, set[str | None]]:
        """The states other sessions' file tools left files in, from their records changed since `since`."""
        found: dict[str, set[str | None]] = {}
        root = journal_dir(self.workspace, self.session_id).parent
        start = float(since) if isinstance(since, (int, float)) else 0.0
        for directory in root.iterdir():
            manifest = directory / MANIFEST
            try:
                if directory.name == self.session_id or manifest.stat().st_mtime < start - 1:
                    continue
                other = Journal.load(directory)
            except (OSError, UndoError):
                continue
            for path, change in other.files.items():
                found.setdefault(path, set()).update(s for s in change.after or [] if s is None or
                                                     s.startswith("sha256:"))
        return found

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.workspace).as_posix()

    def _fail(self, exc: Exception, template: str) -> None:
        self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self._warn(template.format(self.error))
        with contextlib.suppress(Exception), self._lock:  # undo must not claim what it cannot cover
            journal = self.journal()
            journal.incomplete = self.error
            journal.save()


def _state_now(path: Path) -> str | None:
    """A file's `sha256:` state now (None: absent; a link or directory: a state no file tool leaves)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return "other"
    try:
        return sha256_of(path.read_bytes())
    except OSError:
        return "other"
