"""Transcripts: every stored event appended to `.duet/sessions/<id>.jsonl` the moment it happens."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from agent.events import EPHEMERAL, Event, parse_event
from agent.redact import Redactor

DUET_DIR = ".duet"
# Everything Duet keeps in .duet/ stays out of git, this file included; only a project config is shared.
PRIVATE_IGNORES = "# Duet's private files: sessions and checkpoints\n*\n!config.toml\n"


def duet_dir(workspace: Path) -> Path:
    """`.duet/` in the workspace, made on first use, with its private parts ignored by git."""
    path = workspace / DUET_DIR
    path.mkdir(exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text(PRIVATE_IGNORES, encoding="utf-8")
    return path


def sessions_dir(workspace: Path) -> Path:
    path = duet_dir(workspace) / "sessions"
    path.mkdir(exist_ok=True)
    return path


def new_session_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class TranscriptWriter:
    """Appends redacted events, one JSON line each, flushed and fsynced so a crash loses nothing."""

    def __init__(self, path: Path, redact: Redactor) -> None:
        self.path = path
        self._redact = redact
        self._handle = path.open("a", encoding="utf-8")

    def write(self, event: Event) -> None:
        if event.type in EPHEMERAL:
            return
        self._handle.write(self._redact(event.model_dump_json()) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def read_transcript(path: Path) -> Iterator[Event]:
    """The events of a transcript; a torn last line (crash mid-write) is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    yield parse_event(line)
                except ValueError:
                    continue


def find_session(workspace: Path, session_id: str | None) -> Path | None:
    """The transcript for `session_id`, or the most recent one when it is None."""
    directory = workspace / DUET_DIR / "sessions"
    if not directory.is_dir():
        return None
    if session_id:
        path = directory / f"{session_id}.jsonl"
        return path if path.is_file() else None
    candidates = sorted(directory.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None
