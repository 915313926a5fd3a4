"""Checkpoints in git: the work tree before the session's first change on `refs/duet/checkpoints/<id>`, and as
Duet left it at the end of each run on `refs/duet/finished/<id>`. Refs live in the git directory, so
`git clean -fdx` cannot remove them."""

from __future__ import annotations

from pathlib import Path

from agent.undo.gitsnap import (
    blob_bytes,
    changed_entries,
    commit_tree,
    current_entries,
    git,
    resolve_tree,
    snapshot_tree,
)
from agent.undo.model import FileUndo, NoCheckpoint, UndoPlan, confined

BEFORE_PREFIX = "refs/duet/checkpoints/"
AFTER_PREFIX = "refs/duet/finished/"


def take(workspace: Path, session_id: str, ref_prefix: str, message: str) -> None:
    commit = commit_tree(workspace, snapshot_tree(workspace), message)
    git(workspace, "update-ref", ref_prefix + session_id, commit)


def plan(workspace: Path, session_id: str) -> UndoPlan:
    before = resolve_tree(workspace, BEFORE_PREFIX + session_id)
    if before is None:
        raise NoCheckpoint("this session made no checkpoint (it changed nothing)")
    after = resolve_tree(workspace, AFTER_PREFIX + session_id)
    # Without an end-of-run record (the run was killed), every file changed since the checkpoint is in doubt.
    changed = changed_entries(workspace, before, after or snapshot_tree(workspace))
    for path in changed:
        confined(workspace, path)
    current = current_entries(workspace, sorted(changed))
    files = [FileUndo(path, old, new if after else None, current[path]) for path, (old, new) in sorted(changed.items())]

    def read_before(item: FileUndo) -> bytes:
        assert item.before.blob is not None
        return blob_bytes(workspace, item.before.blob)

    return UndoPlan(session_id, files, read_before)


def latest_session(workspace: Path) -> str | None:
    """The session of the most recent checkpoint (the transcripts may be gone; the refs remain)."""
    out = git(workspace, "for-each-ref", "--sort=-creatordate", "--count=1", "--format=%(refname)", BEFORE_PREFIX)
    ref = out.decode().strip()
    return ref.removeprefix(BEFORE_PREFIX) or None
