"""Where a checkpoint keeps secret files (`.env`, keystores: the secret-file list), so they never enter an object
store a sandboxed command can read.

`.git` is readable by commands (`git show refs/duet/checkpoints/<id>:.env`), and so is `.git/duet/`. A snapshot
therefore runs git with GIT_OBJECT_DIRECTORY pointing at a private object directory in the user's state
directory (`$XDG_STATE_HOME/duet/private/…`, 0700, hidden from commands like the rest of HOME), with the
repository's own objects as an alternate: every blob `git add` writes lands there. The secret files are then
taken out of the snapshot's index (their entries kept in a private record), and only the objects the remaining
tree needs are copied into the repository. The secret blobs stay behind, readable by Duet alone, for undo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.duetdir import PRIVATE_FILE_MODE, private_dir
from agent.gitsafe import git_argv, git_env
from agent.userdirs import state_base, workspace_key

# Loose objects and the snapshot's index readable by the user alone (git's own default for objects is 0444).
# Objects synced to disk as they are written: a snapshot taken before a command is durable before it runs.
PRIVATE_GIT = ("-c", "core.sharedRepository=0600", "-c", "core.fsync=objects")


class GitFailed(Exception):
    """A git command failed; the message is git's first line of complaint."""


@dataclass(frozen=True)
class SecretStore:
    """One workspace's private object directory and checkpoint records."""

    root: Path
    repo_objects: Path

    @classmethod
    def of(cls, workspace: Path, repo_objects: Path, environ: Mapping[str, str] | None = None) -> SecretStore:
        """The store of `workspace` (not made here): under the user's state directory, never the work tree."""
        return cls(state_base(environ) / "private" / workspace_key(workspace.resolve()), repo_objects)

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    def prepare(self) -> SecretStore:
        for path in (self.root.parent.parent, self.root.parent, self.root, self.objects, self.root / "records",
                     self.root / "tmp"):
            private_dir(path)
        return self

    def env(self, objects: Path | None = None) -> dict[str, str]:
        """git's environment for writing to (and reading from) private objects (the store's, else `objects`),
        the repository's beside them."""
        alternate = str(self.repo_objects)
        if ":" in alternate or alternate.startswith('"'):  # the variable is a list: C-quote a path that needs it
            alternate = '"' + alternate.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return {"GIT_OBJECT_DIRECTORY": str(objects or self.objects), "GIT_ALTERNATE_OBJECT_DIRECTORIES": alternate}

    def read_blob(self, workspace: Path, blob: str) -> bytes:
        return _run(workspace, ["cat-file", "blob", blob], {**os.environ, **self.env()}, private=True)

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A fresh private object directory for one snapshot: what git writes there is exactly what the
        repository lacks."""
        path = Path(tempfile.mkdtemp(prefix="objects-", dir=self.root / "tmp"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def publish(self, workspace: Path, scratch: Path, tree: str, secret: set[str]) -> None:
        """Move the objects of one snapshot out of `scratch`: the `secret` blobs into the store, every other
        object (the tree needs them, and names no secret blob) into the repository."""
        if any((scratch / "pack").glob("*.pack")):  # a file above core.bigFileThreshold was streamed to a pack
            self._publish_packed(workspace, scratch, tree)
        for fanout in scratch.iterdir():
            if len(fanout.name) != 2 or not fanout.is_dir():
                continue
            for loose in fanout.iterdir():
                oid = fanout.name + loose.name
                if oid in secret:
                    private_dir(self.objects / fanout.name)
                    os.replace(loose, self.objects / fanout.name / loose.name)
                else:
                    _copy_object(loose, self.repo_objects / fanout.name / loose.name)

    def _publish_packed(self, workspace: Path, scratch: Path, tree: str) -> None:
        """The slow way, for packs: the objects the tree needs and the repository lacks go over as a pack; the
        packs themselves (with any secret blob in them) stay private."""
        env = {**os.environ, **self.env(scratch)}
        listing = _run(workspace, ["ls-tree", "-r", "-t", "-z", tree], env, private=True).decode(
            "utf-8", "surrogateescape")
        wanted = list(dict.fromkeys([tree] + [line.split(" ", 2)[2].split("\t", 1)[0] for line in listing.split("\0")
                                              if line and line.split(" ", 2)[1] in ("tree", "blob")]))
        repo_env = {k: v for k, v in os.environ.items() if k not in ("GIT_OBJECT_DIRECTORY",
                                                                     "GIT_ALTERNATE_OBJECT_DIRECTORIES")}
        check = _run(workspace, ["cat-file", "--batch-check=%(objectname)"], repo_env,
                     data="\n".join(wanted).encode() + b"\n").decode()
        missing = [line.split(" ", 1)[0] for line in check.splitlines() if line.endswith(" missing")]
        if missing:
            pack = _run(workspace, ["pack-objects", "--stdout", "-q"], env,
                        data="\n".join(missing).encode() + b"\n", private=True)
            _run(workspace, ["unpack-objects", "-q"], repo_env, data=pack)
        private_dir(self.objects / "pack")
        for path in (scratch / "pack").iterdir():
            os.replace(path, self.objects / "pack" / path.name)

    def record_path(self, session_id: str) -> Path:
        return self.root / "records" / f"{session_id}.json"

    def load(self, session_id: str) -> dict[str, Any] | None:
        """The session's record ({"patterns", "before", "after"}), None when it has none (an older checkpoint)."""
        try:
            data = json.loads(self.record_path(session_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save(self, session_id: str, record: dict[str, Any]) -> None:
        path = self.record_path(session_id)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(tmp, path)


def _copy_object(source: Path, target: Path) -> None:
    """A loose object into the repository (as git writes them: complete or not at all, read-only)."""
    if target.exists():
        return
    target.parent.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source.read_bytes())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run(workspace: Path, args: list[str], env: Mapping[str, str], data: bytes | None = None, *,
         private: bool = False) -> bytes:
    """git `args` in `workspace`; `private`: writing the private objects (the user's alone)."""
    # git's own environment (no secrets, a clean PATH) with this call's object directories; none that `env` left out
    clean = git_env({k: v for k, v in env.items() if k.startswith("GIT_")})
    for name in ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_INDEX_FILE"):
        if name not in env:
            clean.pop(name, None)
    result = subprocess.run(git_argv(workspace, *(PRIVATE_GIT if private else ()), *args), cwd=workspace,
                            input=data, capture_output=True, env=clean, timeout=300)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitFailed(lines[0] if lines else f"git {args[0]} failed")
    return result.stdout
