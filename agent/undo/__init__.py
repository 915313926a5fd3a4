"""Undo: put back what a session changed, never what someone else changed since.

`plan_undo` decides from the session's journal (agent.undo.journal: the paths its file tools wrote, and the
changes of its commands seen between snapshots) what may be restored; `apply_plan` does it and checks the tree
it leaves. `agent undo` and the TUI's `/undo` both go through `undo`.
"""

from __future__ import annotations

from pathlib import Path

from agent.transcript import check_session_id, state_dir
from agent.undo import gitstore
from agent.undo.apply import UndoReport, apply_plan, forced_diffs
from agent.undo.gitsnap import is_repo_root
from agent.undo.journal import MANIFEST, Journal
from agent.undo.model import NoCheckpoint, UndoError, UndoPlan
from agent.undo.sessionplan import plan_from_journal
from tools.secret_files import SecretFiles

__all__ = ["UndoError", "UndoPlan", "UndoReport", "apply_plan", "forced_diffs", "journal_dir", "latest_checkpoint",
           "plan_undo", "undo"]


def journal_dir(workspace: Path, session_id: str) -> Path:
    return state_dir(workspace) / "checkpoints" / check_session_id(session_id)


def plan_undo(workspace: Path, session_id: str, secret_files: SecretFiles | None = None) -> UndoPlan:
    workspace = workspace.resolve()
    check_session_id(session_id)
    uses_git = is_repo_root(workspace)
    journal = Journal.load(journal_dir(workspace, session_id))
    if journal.exists():
        return plan_from_journal(workspace, session_id, journal, uses_git, secret_files)
    if uses_git and gitstore.has_ref(workspace, gitstore.BEFORE_PREFIX + session_id):
        return gitstore.plan(workspace, session_id)  # a checkpoint of an older Duet: whole-tree snapshots
    raise NoCheckpoint("this session made no checkpoint (it changed nothing)")


def undo(workspace: Path, session_id: str, *, force: bool = False) -> UndoReport:
    """Restore the files `session_id` changed that are still as it left them (all of them with `force`)."""
    return apply_plan(plan_undo(workspace, session_id), workspace, force=force)


def latest_checkpoint(workspace: Path) -> str | None:
    """The most recent session with a record of its changes, from the records themselves."""
    workspace = workspace.resolve()
    directory = state_dir(workspace) / "checkpoints"
    stores = [p for p in directory.iterdir() if (p / MANIFEST).is_file()] if directory.is_dir() else []
    if stores:
        return max(stores, key=lambda p: (p / MANIFEST).stat().st_mtime_ns).name
    return gitstore.latest_session(workspace) if is_repo_root(workspace) else None
