"""Undo: put back what a session changed, never what someone else changed since.

`plan_undo` decides from the session's checkpoint (git refs, or file copies outside git) what may be restored;
`apply_plan` does it. `agent undo` and the TUI's `/undo` both go through `undo`.
"""

from __future__ import annotations

from pathlib import Path

from agent.transcript import check_session_id, state_dir
from agent.undo import gitstore
from agent.undo.apply import UndoReport, apply_plan, forced_diffs
from agent.undo.copystore import CopyStore
from agent.undo.gitsnap import is_repo_root
from agent.undo.model import UndoError, UndoPlan

__all__ = ["UndoError", "UndoPlan", "UndoReport", "apply_plan", "copy_store", "forced_diffs", "latest_checkpoint",
           "plan_undo", "undo"]


def copy_store(workspace: Path, session_id: str) -> CopyStore:
    return CopyStore(workspace, state_dir(workspace) / "checkpoints" / check_session_id(session_id))


def plan_undo(workspace: Path, session_id: str) -> UndoPlan:
    workspace = workspace.resolve()
    check_session_id(session_id)
    if is_repo_root(workspace):
        return gitstore.plan(workspace, session_id)
    return copy_store(workspace, session_id).plan(session_id)


def undo(workspace: Path, session_id: str, *, force: bool = False) -> UndoReport:
    """Restore the files `session_id` changed that are still as it left them (all of them with `force`)."""
    return apply_plan(plan_undo(workspace, session_id), workspace, force=force)


def latest_checkpoint(workspace: Path) -> str | None:
    """The most recent session with a checkpoint, from the checkpoints themselves."""
    workspace = workspace.resolve()
    if is_repo_root(workspace):
        return gitstore.latest_session(workspace)
    directory = state_dir(workspace) / "checkpoints"
    stores = sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime) if directory.is_dir() else []
    return stores[-1].name if stores else None
