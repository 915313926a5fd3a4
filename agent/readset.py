"""The files the model has read, carried across `agent resume`: each tool call's new read stamps (path, mtime,
size) ride on its `tool.finished` event's data, and a resumed session rebuilds its read set from them. A file
changed on disk since that read no longer matches its stamp, so it is still refused as stale."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.base import FileStamp

READ_STAMPS_KEY = "read_stamps"


def new_stamps(before: Mapping[Path, FileStamp], after: Mapping[Path, FileStamp], root: Path) -> list[dict[str, Any]]:
    """The stamps a tool call added or changed, as plain data with workspace-relative paths."""
    base = root.resolve()
    found = []
    for path, known in list(after.items()):
        if before.get(path) == known:
            continue
        try:
            relative = path.relative_to(base).as_posix()
        except ValueError:
            continue
        found.append({"path": relative, "mtime_ns": known.mtime_ns, "size": known.size})
    return found


def stamps_of(data: Mapping[str, Any]) -> dict[str, FileStamp]:
    """The stamps one `tool.finished` event's data carries (anything malformed is left out: it reads as unread)."""
    found: dict[str, FileStamp] = {}
    entries = data.get(READ_STAMPS_KEY)
    if not isinstance(entries, list):
        return found
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        path, mtime, size = entry.get("path"), entry.get("mtime_ns"), entry.get("size")
        if (isinstance(path, str) and path and not path.startswith("/") and ".." not in path.split("/")
                and isinstance(mtime, int) and isinstance(size, int)):
            found[path] = FileStamp(mtime_ns=mtime, size=size)
    return found


def restore(read_stamps: dict[Path, FileStamp], stamps: Mapping[str, FileStamp], root: Path) -> None:
    """Put a rebuilt read set into a session's (empty) one."""
    base = root.resolve()
    for relative, known in stamps.items():
        read_stamps[base / relative] = known
