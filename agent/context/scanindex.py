"""What the last scan found, on disk, so the next one reads only what changed.

Two sealed files (see sealed.py: in the user's cache directory, read only when Duet's own key vouches for them;
anything else is rebuilt, never trusted), both written aside and renamed:
- the index: per path [size, mtime_ns, digest, reason, blob] (blob: git's id of the content, when git
  vouched for the file). Any entry is valid while its blob is what git vouches for now, or else while the
  file's size and mtime are unchanged.
- the snapshot: the scan's results for every tracked file git vouched for, filed under a digest of git's
  listing of tracked files. While that listing is unchanged (no commit, add or checkout since), those
  results stand for every file git still vouches for, without a stat or a lookup per file: a monorepo's
  warm scan costs git's own C pass and one small load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.context.sealed import SealedFile

INDEX_VERSION = 3
SNAPSHOT_VERSION = 2
Entry = list[object]  # [size, mtime_ns, digest (None when skipped), reason (None when included), blob or None]


@dataclass
class Snapshot:
    """Results for the files git vouched for under one tracked listing, and what the rest need."""

    key: str
    digests: dict[str, str] = field(default_factory=dict)  # included vouched files
    sizes: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # skipped vouched files, with reasons
    rest: list[tuple[str, str | None]] = field(default_factory=list)  # other tracked (path, listing blob)
    others: dict[str, Entry] = field(default_factory=dict)  # index entries of the files not vouched for
    untracked: list[str] = field(default_factory=list)  # the untracked files git listed

    def vouched(self, path: str) -> bool:
        return path in self.digests or path in self.skipped

    def drop(self, path: str) -> None:
        self.digests.pop(path, None)
        self.sizes.pop(path, None)
        self.skipped.pop(path, None)


def _load(path: SealedFile | None) -> tuple[object, ...] | None:
    value = path.load() if path is not None else None
    return value if isinstance(value, tuple) else None


def _write(path: SealedFile, value: tuple[object, ...]) -> None:
    path.save(value)


def load_index(path: SealedFile | None, patterns: str) -> dict[str, Entry]:
    """The last full scan's entries, if made with the same secret-file patterns (else none)."""
    value = _load(path)
    if value is None or len(value) != 3 or value[0] != INDEX_VERSION or value[1] != patterns:
        return {}
    return dict(value[2])  # type: ignore[call-overload]


def save_index(path: SealedFile, patterns: str, entries: dict[str, Entry]) -> None:
    _write(path, (INDEX_VERSION, patterns, entries))


def load_snapshot(path: SealedFile | None, patterns: str) -> Snapshot | None:
    value = _load(path)
    if value is None or len(value) != 9 or value[0] != SNAPSHOT_VERSION or value[1] != patterns:
        return None
    key, digests, sizes, skipped, rest, others, untracked = value[2:]
    return Snapshot(key, digests, sizes, skipped, [(p, b) for p, b in rest], others,  # type: ignore[arg-type,attr-defined]
                    untracked)  # type: ignore[arg-type]


def save_snapshot(path: SealedFile, patterns: str, snapshot: Snapshot) -> None:
    _write(path, (SNAPSHOT_VERSION, patterns, snapshot.key, snapshot.digests, snapshot.sizes, snapshot.skipped,
                  snapshot.rest, snapshot.others, snapshot.untracked))
