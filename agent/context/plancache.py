"""Finished repo maps, kept on disk by everything they depend on: an unchanged workspace re-plans in a lookup.

The key covers the model's tokenizer and budgets, the files in play, the names mentioned and the digest of
every included file (path and content), so any edit, rename, new hint or config change misses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from agent.context.sealed import SealedFile

KEEP = 8  # maps for a few models / hint sets; the oldest goes first
CACHE_VERSION = 2  # bump whenever ranking or rendering changes: old maps must miss


def workspace_fingerprint(digests: Mapping[str, str]) -> str:
    """One digest of every included path and its content digest."""
    text = "".join([f"{path}\0{digests[path]}\n" for path in sorted(digests)])  # hashed in one call
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def plan_key(*parts: object, in_play: Iterable[str], mentioned: Iterable[str], fingerprint: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([CACHE_VERSION, [str(p) for p in parts], list(in_play), sorted(mentioned), fingerprint])
             .encode())
    return h.hexdigest()


class PlanCache:
    """A small JSON file of recent maps by key."""

    def __init__(self, path: SealedFile | None) -> None:
        self._path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        data = path.load_json() if path is not None else None
        if data is not None:
            try:
                self._entries = data["entries"] if data.get("version") == CACHE_VERSION else {}  # type: ignore[index,attr-defined]
            except (ValueError, KeyError, AttributeError, TypeError):  # not ours: rebuilt, never trusted
                self._entries = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self._entries.get(key)

    def made_for(self, model: str) -> bool:
        """Whether a map kept here was made for `model` (its next plan is likely a map too)."""
        return any(e.get("model") == model for e in self._entries.values())

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self._entries.pop(key, None)
        self._entries[key] = entry
        while len(self._entries) > KEEP:
            self._entries.pop(next(iter(self._entries)))
        self._dirty = True

    def save(self) -> None:
        if self._path and self._dirty:
            self._path.save_json({"version": CACHE_VERSION, "entries": self._entries})
            self._dirty = False
