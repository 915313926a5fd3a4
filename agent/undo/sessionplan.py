"""An undo plan from a session's journal (agent.undo.journal): only the paths the session itself changed, each
restored only where it is still in a state the session left it in."""

from __future__ import annotations

from pathlib import Path

from agent.undo import gitstore
from agent.undo.gitsnap import Entry, blob_bytes, secret_store, snapshot
from agent.undo.journal import Change, Journal
from agent.undo.model import FileUndo, UndoPlan, confined
from agent.undo.states import Now, git_paths
from tools.secret_files import SecretFiles

SHELL_NOTE = ("changes made by shell commands (this workspace is not a git repository, so Duet cannot tell what "
              "they changed)")
INCOMPLETE_NOTE = "changes made after the record of this session failed ({})"


def in_doubt(workspace: Path, journal: Journal, secret_files: SecretFiles) -> dict[str, Change]:
    """The journal's changes, with those of a command whose end was never seen (the run was killed during it):
    whatever differs from the snapshot before it is the session's, in a state nobody can vouch for."""
    files = {path: Change(c.before, c.before_mode, c.after) for path, c in journal.files.items()}
    if journal.pending is None:
        return files
    old = gitstore.snapshot_of(journal.pending)
    now = snapshot(workspace, secret_files)
    for path, ((before, mode), _after) in gitstore.command_changes(workspace, old, now).items():
        known = files.get(path)
        if known is None:
            files[path] = Change(before, mode, None)
        else:
            known.after = None
    return files


def plan_from_journal(workspace: Path, session_id: str, journal: Journal, uses_git: bool,
                      secret_files: SecretFiles | None = None) -> UndoPlan:
    files = in_doubt(workspace, journal, secret_files or SecretFiles()) if uses_git else dict(journal.files)
    for path in files:
        confined(workspace, path)  # a forged record is refused whole
    states = {path: [c.before, *(c.after or [])] for path, c in files.items()}
    now = Now(workspace, git_paths(states), uses_git)
    items = []
    for path, change in sorted(files.items()):
        before = Entry(change.before, change.before_mode)
        left = change.after is not None and any(now.matches(path, state) for state in change.after)
        items.append(FileUndo(path, before, left, now.is_back(path, before), now.exists(path)))

    def read_before(item: FileUndo) -> bytes:
        state = item.before.blob
        assert state is not None
        kind, _, value = state.partition(":")
        if kind == "sha256":
            return journal.copy_bytes(state)
        if kind == "secret":
            return secret_store(workspace).read_blob(workspace, value)
        return blob_bytes(workspace, value)

    def still_differs(chosen: list[FileUndo]) -> list[str]:
        states_now = {f.path: [f.before.blob] for f in chosen}
        after = Now(workspace, git_paths(states_now), uses_git)
        return [f.path for f in chosen if not after.is_back(f.path, f.before)]

    cannot = [SHELL_NOTE] if journal.opaque and not uses_git else []
    if journal.incomplete:
        cannot.append(INCOMPLETE_NOTE.format(journal.incomplete))
    return UndoPlan(session_id, items, read_before, cannot, still_differs)
