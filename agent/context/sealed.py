"""Duet's context caches: outside the work tree, and read back only if Duet itself wrote them.

A cache a repository could commit, or a sandboxed command could write, is code waiting to run if it is ever
deserialised by a format that can build objects (pickle; marshal builds code objects). So the caches live in
the user's cache directory (`$XDG_CACHE_HOME/duet/workspaces/<workspace>/`, 0700, never in the workspace),
hold plain values only (marshal of str, bytes, int, None, tuples, lists and dicts; JSON for the small ones),
and every file carries an HMAC-SHA256 under a per-user key kept in Duet's config directory, which sandboxed
commands can neither read nor write. A file whose tag does not verify (foreign, torn, from another workspace
or slot) is rebuilt, never read: the payload is parsed only after the tag checks out.
"""

from __future__ import annotations

import hmac
import json
import marshal
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.userdirs import cache_base, config_dir, workspace_key

MAGIC = b"duet-sealed/1\n"
TAG_BYTES = 32
KEY_BYTES = 32
KEY_FILE = "cache.key"


def user_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The per-user cache key (made on first use, 0600, in Duet's config dir); None where it cannot be kept."""
    directory = config_dir(environ)
    path = directory / KEY_FILE
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as found:
            if os.fstat(found.fileno()).st_uid != os.getuid():
                return None
            key = found.read(KEY_BYTES + 1)
    except OSError:
        return None
    return key if len(key) == KEY_BYTES else None


def workspace_cache_dir(workspace: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """This workspace's cache directory (made, 0700), or None when the user's cache dir is unusable."""
    path = cache_base(environ) / "workspaces" / workspace_key(workspace.resolve())
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError:
        return None
    return path


@dataclass(frozen=True)
class SealedFile:
    """One cache file: a path and the key that vouches for what it holds."""

    path: Path
    key: bytes

    def with_suffix(self, suffix: str) -> SealedFile:
        return SealedFile(self.path.with_suffix(suffix), self.key)

    def _tag(self, payload: bytes) -> bytes:
        # Bound to the file's place (workspace dir and name): a sealed file moved to another slot is refused.
        place = f"{self.path.parent.name}/{self.path.name}\0".encode()
        return hmac.digest(self.key, place + payload, "sha256")

    def read_bytes(self) -> bytes | None:
        """The payload, if this file is one Duet sealed for this place; else None."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as found:
            data = found.read()
        head = len(MAGIC) + TAG_BYTES
        if len(data) < head or not data.startswith(MAGIC):
            return None
        tag, payload = data[len(MAGIC):head], data[head:]
        return payload if hmac.compare_digest(tag, self._tag(payload)) else None

    def write_bytes(self, payload: bytes) -> None:
        """Whole or not at all: written aside (0600) and renamed over the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + self._tag(payload) + payload)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _decoded(self, loads: Callable[[bytes], object]) -> object | None:
        payload = self.read_bytes()
        if payload is None:
            return None
        try:
            return loads(payload)
        except (ValueError, EOFError, TypeError):  # json's errors are ValueErrors
            return None

    def load(self) -> object | None:
        """The plain value stored (marshal), or None if absent, foreign or unreadable."""
        return self._decoded(marshal.loads)

    def save(self, value: object) -> None:
        self.write_bytes(marshal.dumps(value))  # type: ignore[arg-type]  # plain values only

    def load_json(self) -> object | None:
        return self._decoded(json.loads)

    def save_json(self, value: object) -> None:
        self.write_bytes(json.dumps(value, separators=(",", ":")).encode())

    def unlink(self) -> None:
        self.path.unlink(missing_ok=True)

    def exists(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class CacheFiles:
    """The context caches of one workspace, or none at all (`agent context --no-cache`, no usable cache dir)."""

    index: SealedFile
    counts: SealedFile
    tags: SealedFile
    maps: SealedFile

    @classmethod
    def for_workspace(cls, workspace: Path, environ: Mapping[str, str] | None = None) -> CacheFiles | None:
        directory = workspace_cache_dir(workspace, environ)
        key = user_key(environ) if directory is not None else None
        if directory is None or key is None:
            return None
        return cls(*(SealedFile(directory / name, key) for name in ("index.bin", "counts.json", "tags.bin",
                                                                     "maps.json")))
