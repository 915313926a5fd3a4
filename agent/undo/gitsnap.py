"""Snapshots of a git work tree as tree objects, built through a temporary index: the user's branch, index,
stash and commits are never touched.

A snapshot holds tracked and untracked files, and also the small gitignored ones outside rebuildable trees
(`.env`, local settings): a file the agent deletes must come back even when git ignores it. Secret files (the
secret-file list) are kept out of the repository's object store, where any command could read them: their blobs
stay in Duet's private store (agent.undo.secretstore).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.gitsafe import git_argv, git_env
from agent.transcript import DUET_DIR
from agent.undo.secretstore import PRIVATE_GIT, GitFailed, SecretStore
from tools.secret_files import SecretFiles

# Checkpoint commits carry Duet's own identity: they live on a private ref, and this way they work on
# machines where git has no user configured (CI).
IDENTITY = {"GIT_AUTHOR_NAME": "Duet", "GIT_AUTHOR_EMAIL": "duet@localhost", "GIT_COMMITTER_NAME": "Duet",
            "GIT_COMMITTER_EMAIL": "duet@localhost"}
MAX_IGNORED_FILE_BYTES = 1024 * 1024
# An untracked file over this size stays out of checkpoints: hashing a 200 MB blob (or a 2 GB sparse file) into
# the object store on every snapshot stalled the first edit for seconds; undo says it cannot restore such a file.
MAX_UNTRACKED_FILE_BYTES = 50 * 1024 * 1024
MAX_IGNORED_FILES = 2_000
REBUILT_DIRS = frozenset({"node_modules", ".venv", "venv", "__pycache__", "site-packages", ".tox", ".nox",
                          ".mypy_cache", ".pytest_cache", ".ruff_cache", "dist", "build", "target", ".gradle",
                          "bower_components", ".next", DUET_DIR})
ABSENT = None


def git(workspace: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None) -> bytes:
    # Hardened like every git call Duet makes: no hooks, no fsmonitor, no submodule recursion from the repo's config.
    result = subprocess.run(git_argv(workspace, *args), cwd=workspace, input=data, capture_output=True,
                            env=git_env(env), timeout=300)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitFailed(lines[0] if lines else f"git {args[0]} failed")
    return result.stdout


def is_repo_root(workspace: Path) -> bool:
    """Is `workspace` the top level of a git work tree?"""
    try:
        top = git(workspace, "rev-parse", "--show-toplevel").decode().strip()
    except (GitFailed, OSError):
        return False
    return Path(top).resolve() == workspace.resolve()


@contextmanager
def temp_index(workspace: Path, directory: Path | None = None, real: Path | None = None) -> Iterator[dict[str, str]]:
    """A private index (in `directory`, else the temp dir), seeded from the real one (at `real`, else asked of
    git) so git need not re-read files whose stat is unchanged."""
    fd, path = tempfile.mkstemp(prefix="duet-index-", dir=directory)
    os.close(fd)
    try:
        if real is None:
            real = Path(git(workspace, "rev-parse", "--git-path", "index").decode().strip())
            real = real if real.is_absolute() else workspace / real
        if real.is_file():
            shutil.copyfile(real, path)
        else:
            os.unlink(path)
        yield {"GIT_INDEX_FILE": path}
    finally:
        Path(path).unlink(missing_ok=True)
        Path(path + ".lock").unlink(missing_ok=True)


_NO_COMMIT = re.compile(r"'(.+?)/?' does not have a commit checked out")
MAX_NESTED_LEFT_OUT = 50


def _add_all(workspace: Path, env: dict[str, str], left_out: list[str]) -> list[str]:
    """`git add -A` of the work tree into the temporary index, without Duet's directory and `left_out`; a
    repository inside the tree that has no commit yet (git refuses to add one) is left out too. Returns those."""
    nested: list[str] = []
    while True:
        specs = [".", f":(exclude){DUET_DIR}", *(f":(exclude,literal){name}" for name in [*left_out, *nested])]
        try:
            git(workspace, *PRIVATE_GIT, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul", env=env,
                data="\0".join(specs).encode("utf-8", errors="surrogateescape"))
            return nested
        except GitFailed as exc:
            found = _NO_COMMIT.search(str(exc))
            if found is None or found.group(1) in nested or len(nested) >= MAX_NESTED_LEFT_OUT:
                raise
            nested.append(found.group(1))


def _big_untracked(workspace: Path, env: dict[str, str]) -> list[str]:
    out = git(workspace, "ls-files", "-z", "--others", "--exclude-standard", env=env)
    big: list[str] = []
    for name in out.decode("utf-8", errors="surrogateescape").split("\0"):
        try:
            if name and (workspace / name).lstat().st_size > MAX_UNTRACKED_FILE_BYTES:
                big.append(name)
        except OSError:
            continue
    return big


def _small_ignored(workspace: Path, env: dict[str, str]) -> list[str]:
    out = git(workspace, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", env=env)
    kept: list[str] = []
    for name in out.decode("utf-8", errors="surrogateescape").split("\0"):
        if not name or any(part in REBUILT_DIRS for part in name.split("/")[:-1]):
            continue
        try:
            st = (workspace / name).lstat()
        except OSError:
            continue
        if st.st_size <= MAX_IGNORED_FILE_BYTES:
            kept.append(name)
            if len(kept) >= MAX_IGNORED_FILES:
                break
    return kept


@dataclass(frozen=True)
class Snapshot:
    """The work tree as a tree object without its secret files, and those files' entries: their blobs live only
    in the private store (see agent.undo.secretstore)."""

    tree: str
    secrets: dict[str, Entry]
    left_out: tuple[str, ...] = ()
    """Untracked files over MAX_UNTRACKED_FILE_BYTES: not in the snapshot, so undo cannot restore them."""
    nested: tuple[str, ...] = ()
    """Repositories inside the work tree with no commit (git cannot record them): left out the same way."""


def _git_paths(workspace: Path, *names: str) -> list[Path]:
    out = git(workspace, "rev-parse", *(arg for name in names for arg in ("--git-path", name))).decode()
    return [path if path.is_absolute() else (workspace / path).resolve()
            for path in (Path(line) for line in out.splitlines())]


def secret_store(workspace: Path) -> SecretStore:
    """The workspace's private store (its repository's objects as the alternate: a worktree's are the main's)."""
    return SecretStore.of(workspace, _git_paths(workspace, "objects")[0])


def snapshot(workspace: Path, secret_files: SecretFiles) -> Snapshot:
    """The work tree as it is now (see the module docstring), secret files kept out of the repository."""
    index_path, objects = _git_paths(workspace, "index", "objects")
    store = SecretStore.of(workspace, objects).prepare()
    with store.scratch() as scratch, temp_index(workspace, store.root / "tmp", index_path) as index:
        env = {**index, **store.env(scratch)}  # every object written lands in a private scratch directory first
        left_out = _big_untracked(workspace, env)
        nested = _add_all(workspace, env, left_out)
        ignored = _small_ignored(workspace, env)
        if ignored:
            git(workspace, *PRIVATE_GIT, "add", "-f", "--pathspec-from-file=-", "--pathspec-file-nul", env=env,
                data="\0".join(ignored).encode("utf-8", errors="surrogateescape"))
        staged = git(workspace, "ls-files", "-s", "-z", env=env).decode("utf-8", errors="surrogateescape")
        secrets: dict[str, Entry] = {}
        public: set[str] = set()  # a secret's content that is also an ordinary file's is no secret to keep
        for line in staged.split("\0"):
            meta, _, path = line.partition("\t")
            if not path:
                continue
            mode, blob, _stage = meta.split(" ")
            if secret_files.match_relative(path):
                secrets[path] = Entry(blob, mode)
            else:
                public.add(blob)
        if secrets:
            git(workspace, "update-index", "--force-remove", "-z", "--stdin", env=env,
                data="\0".join(secrets).encode("utf-8", errors="surrogateescape"))
        tree = git(workspace, *PRIVATE_GIT, "write-tree", env=env).decode().strip()
        store.publish(workspace, scratch, tree, {e.blob for e in secrets.values() if e.blob} - public)
    return Snapshot(tree, secrets, tuple(left_out), tuple(nested))


def commit_tree(workspace: Path, tree: str, message: str) -> str:
    try:
        parents = ["-p", git(workspace, "rev-parse", "--verify", "-q", "HEAD").decode().strip()]
    except GitFailed:
        parents = []
    return git(workspace, "commit-tree", tree, *parents, "-m", message, env=IDENTITY).decode().strip()


def resolve_tree(workspace: Path, ref: str) -> str | None:
    try:
        return git(workspace, "rev-parse", "--verify", "-q", f"{ref}^{{tree}}").decode().strip()
    except GitFailed:
        return None


@dataclass(frozen=True)
class Entry:
    """A file in a tree: its blob and mode (`100644`, `100755`, `120000` for a link); blob None when absent."""

    blob: str | None
    mode: str = "100644"


def changed_entries(workspace: Path, old: str, new: str) -> dict[str, tuple[Entry, Entry]]:
    """Paths whose entry differs between two trees: path -> (entry in old, entry in new)."""
    out = git(workspace, "diff-tree", "-r", "-z", "--no-renames", "--raw", old, new)
    fields = out.decode("utf-8", errors="surrogateescape").split("\0")
    changes: dict[str, tuple[Entry, Entry]] = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_blob, new_blob, _status = meta[1:].split(" ")
        zero = "0" * len(old_blob)
        changes[path] = (Entry(None if old_blob == zero else old_blob, old_mode),
                         Entry(None if new_blob == zero else new_blob, new_mode))
    return changes


def tree_entries(workspace: Path, tree: str, paths: list[str]) -> dict[str, Entry]:
    """The entries `tree` holds for those of `paths` it has."""
    if not paths:
        return {}
    out = git(workspace, "--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", tree, "--", *paths)
    entries: dict[str, Entry] = {}
    for line in out.decode("utf-8", errors="surrogateescape").split("\0"):
        meta, _, path = line.partition("\t")
        if path:
            mode, _type, blob = meta.split(" ")
            entries[path] = Entry(blob, mode)
    return entries


def current_entries(workspace: Path, paths: list[str]) -> dict[str, Entry]:
    """Each path's entry as the work tree holds it now, hashed the way `git add` would (filters applied)."""
    entries: dict[str, Entry] = {}
    regular: list[str] = []
    for path in paths:
        full = workspace / path
        try:
            st = full.lstat()
        except OSError:
            entries[path] = Entry(None)
            continue
        if os.path.islink(full):
            blob = git(workspace, "hash-object", "--stdin", data=os.fsencode(os.readlink(full))).decode().strip()
            entries[path] = Entry(blob, "120000")
        elif full.is_file():
            regular.append(path)
            entries[path] = Entry("", "100755" if st.st_mode & 0o111 else "100644")
        else:
            entries[path] = Entry(None)  # a directory where a file was: not Duet's file any more
    if regular:
        blobs = git(workspace, "hash-object", "--stdin-paths",
                    data="\n".join(regular).encode("utf-8", errors="surrogateescape")).decode().split()
        for path, blob in zip(regular, blobs, strict=True):
            entries[path] = Entry(blob, entries[path].mode)
    return entries


def blob_bytes(workspace: Path, blob: str) -> bytes:
    return git(workspace, "cat-file", "blob", blob)
