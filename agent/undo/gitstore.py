"""Checkpoints in git: the work tree before the session's first change on `refs/duet/checkpoints/<id>`, and as
Duet left it at the end of each run on `refs/duet/finished/<id>`. Refs live in the git directory, so
`git clean -fdx` cannot remove them. Secret files are not in those trees: their entries are in the session's
private record, their blobs in the private store (agent.undo.secretstore), both outside what commands can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.undo.gitsnap import (
    IDENTITY,
    Entry,
    Snapshot,
    blob_bytes,
    changed_entries,
    commit_tree,
    current_entries,
    git,
    resolve_tree,
    secret_store,
    snapshot,
    tree_entries,
)
from agent.undo.model import FileUndo, NoCheckpoint, UndoError, UndoPlan, confined
from agent.undo.secretstore import GitFailed
from tools.secret_files import DEFAULT_SECRET_FILES, SecretFiles

BEFORE_PREFIX = "refs/duet/checkpoints/"
AFTER_PREFIX = "refs/duet/finished/"  # written by older versions of Duet only (read by `plan`)
COMMANDS_PREFIX = "refs/duet/commands/"
"""A chain of commits, one per shell command of the session, whose trees are the work tree just before it: they
keep the blobs undo restores from reachable (git gc leaves them)."""


def take(workspace: Path, session_id: str, ref_prefix: str, message: str,
         secret_files: SecretFiles | None = None) -> Snapshot:
    """Snapshot the work tree onto `ref_prefix + session_id`, its secret files into the private record."""
    files = secret_files or SecretFiles()
    snap = snapshot(workspace, files)
    store = secret_store(workspace)
    side = "before" if ref_prefix == BEFORE_PREFIX else "after"
    record = (store.load(session_id) if side == "after" else None) or {"patterns": list(files.patterns),
                                                                        "before": {}, "after": None}
    record[side] = {path: [entry.blob, entry.mode] for path, entry in snap.secrets.items()}
    store.save(session_id, record)  # before the ref: a ref never names a snapshot whose secrets were not kept
    commit = commit_tree(workspace, snap.tree, message)
    git(workspace, "update-ref", ref_prefix + session_id, commit)
    return snap


def _entries(record: dict[str, Any], side: str) -> dict[str, Entry] | None:
    entries = record.get(side)
    if entries is None:
        return None
    if not isinstance(entries, dict) or not all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v) for v in entries.values()):
        raise UndoError("the private checkpoint record of this session is malformed; refusing the record")
    return {str(path): Entry(blob, mode) for path, (blob, mode) in entries.items()}


def has_ref(workspace: Path, ref: str) -> bool:
    return resolve_tree(workspace, ref) is not None


def keep_snapshot(workspace: Path, session_id: str, snap: Snapshot, message: str) -> None:
    """Commit `snap` onto the session's chain of command snapshots (COMMANDS_PREFIX)."""
    ref = COMMANDS_PREFIX + session_id
    try:
        parents = ["-p", git(workspace, "rev-parse", "--verify", "-q", ref).decode().strip()]
    except GitFailed:
        parents = []
    commit = git(workspace, "commit-tree", snap.tree, *parents, "-m", message, env=IDENTITY).decode().strip()
    git(workspace, "update-ref", ref, commit)


State = tuple[str | None, str]  # a journal state (`git:`/`secret:` blob, None: absent) and its mode


def command_changes(workspace: Path, old: Snapshot, new: Snapshot) -> dict[str, tuple[State, State]]:
    """What changed between two snapshots of the work tree, secret files included: path -> (old, new)."""
    changes = {path: ((_kind("git", a.blob), a.mode), (_kind("git", b.blob), b.mode))
               for path, (a, b) in changed_entries(workspace, old.tree, new.tree).items()}
    candidates = sorted({*old.secrets, *new.secrets})  # secret on one side only: in the other side's tree
    old_tree, new_tree = (tree_entries(workspace, snap.tree, candidates) for snap in (old, new))
    for path in candidates:
        changes.pop(path, None)
        a = _side(path, old, old_tree)
        b = _side(path, new, new_tree)
        if a != b:
            changes[path] = (a, b)
    return changes


def _kind(kind: str, blob: str | None) -> str | None:
    return None if blob is None else f"{kind}:{blob}"


def _side(path: str, snap: Snapshot, tree: dict[str, Entry]) -> State:
    if path in snap.secrets:
        return _kind("secret", snap.secrets[path].blob), snap.secrets[path].mode
    entry = tree.get(path) or Entry(None)
    return _kind("git", entry.blob), entry.mode


def snapshot_record(snap: Snapshot) -> dict[str, Any]:
    """A snapshot as the journal keeps it (the tree, the secret files' entries)."""
    return {"tree": snap.tree, "secrets": {p: [e.blob, e.mode] for p, e in snap.secrets.items()}}


def snapshot_of(record: dict[str, Any]) -> Snapshot:
    secrets = record.get("secrets") or {}
    if not all(isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v) for v in secrets.values()):
        raise UndoError("the checkpoint record of a command's snapshot is malformed; refusing the record")
    return Snapshot(str(record["tree"]), {str(p): Entry(b, m) for p, (b, m) in secrets.items()})


def plan(workspace: Path, session_id: str) -> UndoPlan:
    before = resolve_tree(workspace, BEFORE_PREFIX + session_id)
    if before is None:
        raise NoCheckpoint("this session made no checkpoint (it changed nothing)")
    after = resolve_tree(workspace, AFTER_PREFIX + session_id)
    store = secret_store(workspace)
    record = store.load(session_id) or {"before": {}, "after": None}  # none: a checkpoint of an older Duet
    secrets_before = _entries(record, "before") or {}
    secrets_after = _entries(record, "after") if after else None
    compare = after
    if compare is None:  # no end-of-run record (the run was killed): every file changed since is in doubt
        patterns = record.get("patterns")
        extra = [str(p) for p in patterns if p not in DEFAULT_SECRET_FILES] if isinstance(patterns, list) else []
        now = snapshot(workspace, SecretFiles(extra))
        compare, secrets_after = now.tree, now.secrets
    changed = changed_entries(workspace, before, compare)
    left = secrets_after or {}
    # A path secret on one side only (the list changed between the two snapshots) is in the other side's tree.
    candidates = sorted({*secrets_before, *left})
    old_tree, new_tree = (tree_entries(workspace, tree, candidates) for tree in (before, compare))
    secret_paths: set[str] = set()
    for path in candidates:
        old = secrets_before.get(path) or old_tree.get(path) or Entry(None)
        new = left.get(path) or new_tree.get(path) or Entry(None)
        changed.pop(path, None)
        if old != new:
            changed[path] = (old, new)
            secret_paths.add(path)
    for path in changed:
        confined(workspace, path)
    current = current_entries(workspace, sorted(changed))
    files = [FileUndo(path, old, after is not None and current[path].blob == new.blob,
                      current[path].blob == old.blob and (old.blob is None or current[path].mode == old.mode),
                      current[path].blob is not None)
             for path, (old, new) in sorted(changed.items())]

    def read_before(item: FileUndo) -> bytes:
        assert item.before.blob is not None
        if item.path in secret_paths:
            return store.read_blob(workspace, item.before.blob)
        return blob_bytes(workspace, item.before.blob)

    def still_differs(items: list[FileUndo]) -> list[str]:
        now = current_entries(workspace, [f.path for f in items])
        return [f.path for f in items if now[f.path].blob != f.before.blob
                or (f.before.blob is not None and now[f.path].mode != f.before.mode)]

    return UndoPlan(session_id, files, read_before, still_differs=still_differs)


def latest_session(workspace: Path) -> str | None:
    """The session of the most recent checkpoint (the transcripts may be gone; the refs remain)."""
    out = git(workspace, "for-each-ref", "--sort=-creatordate", "--count=1", "--format=%(refname)", BEFORE_PREFIX)
    ref = out.decode().strip()
    return ref.removeprefix(BEFORE_PREFIX) or None
