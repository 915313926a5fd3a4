"""Checkpoints taken before a session's first change, so `agent undo` can restore the work tree.

In a git repository the snapshot (tracked and untracked, non-ignored files) is a commit on a private
ref, `refs/duet/checkpoints/<session>`, built through a temporary index: the user's branch, index,
stash and commits are never touched. Outside git, each file is copied before its first change.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.errors import DuetError
from agent.gitsafe import harden_repo
from agent.transcript import DUET_DIR, duet_dir

REF_PREFIX = "refs/duet/checkpoints/"
# Checkpoint commits carry Duet's own identity: they live on a private ref, and this way they work on
# machines where git has no user configured (CI).
IDENTITY = {"GIT_AUTHOR_NAME": "Duet", "GIT_AUTHOR_EMAIL": "duet@localhost", "GIT_COMMITTER_NAME": "Duet",
            "GIT_COMMITTER_EMAIL": "duet@localhost"}
EXCLUDE_DUET = f":(exclude){DUET_DIR}"


class CheckpointError(DuetError):
    exit_code = 1


def _repo(workspace: Path):  # type: ignore[no-untyped-def]
    import git

    try:
        repo = harden_repo(git.Repo(workspace, search_parent_directories=False))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return repo if Path(repo.working_tree_dir or "").resolve() == workspace.resolve() else None


@contextmanager
def _temp_index() -> Iterator[dict[str, str]]:
    fd, path = tempfile.mkstemp(prefix="duet-index-")
    os.close(fd)
    os.unlink(path)
    try:
        yield {"GIT_INDEX_FILE": path}
    finally:
        Path(path).unlink(missing_ok=True)


def _snapshot_tree(repo) -> str:  # type: ignore[no-untyped-def]
    with _temp_index() as env:
        repo.git.add("-A", "--", ".", EXCLUDE_DUET, env=env)
        return str(repo.git.write_tree(env=env))


class Checkpoint:
    """One session's checkpoint; `ensure` is cheap after the first call."""

    def __init__(self, workspace: Path, session_id: str,
                 on_warning: Callable[[str], None] = lambda _msg: None) -> None:
        self.workspace = workspace.resolve()
        self._warn = on_warning
        self.error: str | None = None
        self.session_id = session_id
        self._repo = _repo(self.workspace)
        self._taken = False
        self._copied: set[str] = set()

    @property
    def uses_git(self) -> bool:
        return self._repo is not None

    @property
    def ref(self) -> str:
        return REF_PREFIX + self.session_id

    def _copy_dir(self) -> Path:
        return duet_dir(self.workspace) / "checkpoints" / self.session_id

    def ensure(self, paths: list[Path]) -> None:
        """Take the checkpoint if not yet taken (git), or copy files not yet copied (no git).

        A failure is reported once as a warning and never blocks the work itself.
        """
        if self.error is not None:
            return
        try:
            if self._repo is not None:
                if not self._taken:
                    self._take_git()
                return
            self._copy_files(paths)
        except Exception as exc:  # git or the file system failed: say so, keep working
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._warn(f"could not record a checkpoint ({self.error}); `agent undo` will not cover this session")

    def _take_git(self) -> None:
        repo = self._repo
        tree = _snapshot_tree(repo)
        parents = ["-p", repo.head.commit.hexsha] if repo.head.is_valid() else []
        commit = repo.git.commit_tree(tree, *parents, "-m", f"duet checkpoint before session {self.session_id}",
                                      env=IDENTITY)
        repo.git.update_ref(self.ref, commit)
        self._taken = True

    def _copy_files(self, paths: list[Path]) -> None:
        store = self._copy_dir()
        manifest_path = store / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"created": []}
        for path in paths:
            relative = path.resolve().relative_to(self.workspace).as_posix()
            if relative in self._copied:
                continue
            self._copied.add(relative)
            if path.exists():
                dest = store / "files" / relative
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, dest)
            elif relative not in manifest["created"]:
                manifest["created"].append(relative)
        store.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(manifest))


def undo(workspace: Path, session_id: str) -> list[str]:
    """Restore the work tree to the session's checkpoint; returns the paths restored or removed."""
    workspace = workspace.resolve()
    repo = _repo(workspace)
    if repo is not None:
        return _undo_git(repo, REF_PREFIX + session_id)
    return _undo_copies(workspace, workspace / DUET_DIR / "checkpoints" / session_id)


def _undo_git(repo, ref: str) -> list[str]:  # type: ignore[no-untyped-def]
    import git

    try:
        target = repo.git.rev_parse("--verify", f"{ref}^{{tree}}")
    except git.GitCommandError:
        raise CheckpointError("this session made no checkpoint (it changed nothing)") from None
    current = _snapshot_tree(repo)
    changed = repo.git.diff_tree("-r", "--name-status", "--no-renames", target, current).splitlines()
    touched: list[str] = []
    for line in changed:
        status, _, path = line.partition("\t")
        if status == "A":  # created after the checkpoint: remove
            (Path(repo.working_tree_dir) / path).unlink(missing_ok=True)
        touched.append(path)
    restore = [p for line in changed if not line.startswith("A") for p in [line.partition("\t")[2]]]
    if restore:
        with _temp_index() as env:
            repo.git.read_tree(target, env=env)
            repo.git.checkout_index("-f", "--", *restore, env=env)
    return sorted(touched)


def _undo_copies(workspace: Path, store: Path) -> list[str]:
    manifest_path = store / "manifest.json"
    if not manifest_path.exists():
        raise CheckpointError("this session made no checkpoint (it changed nothing)")
    manifest = json.loads(manifest_path.read_text())
    touched = []
    for relative in manifest["created"]:
        (workspace / relative).unlink(missing_ok=True)
        touched.append(relative)
    files = store / "files"
    for copy in files.rglob("*") if files.exists() else []:
        if copy.is_file():
            relative = copy.relative_to(files).as_posix()
            dest = workspace / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(copy, dest)
            touched.append(relative)
    return sorted(touched)
