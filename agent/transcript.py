"""Transcripts: every stored event appended to `<state>/sessions/<id>.jsonl` the moment it happens.

Sessions and checkpoints live where `git clean -fdx` cannot reach them: in a git repository under its git
directory (`.git/duet/`), elsewhere in the user's state directory (`$XDG_STATE_HOME/duet/workspaces/…`). Both are
private to the user (0700 directories, 0600 files). `.duet/` in the workspace keeps only the project config and
rebuildable caches.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from agent.duetdir import DUET_DIR, PRIVATE_FILE_MODE, private_dir  # noqa: F401  # DUET_DIR: re-exported
from agent.errors import ConfigError
from agent.events import EPHEMERAL, Event, parse_event
from agent.redact import Redactor
from agent.repo.known import KnownRepos
from agent.userdirs import state_base, workspace_key

MAX_TRANSCRIPT_BYTES = 1 << 30  # a 330-turn session is tens of MB; anything near this is not a transcript
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}$")


def git_dir(workspace: Path) -> Path | None:
    """The git directory of the repository whose top level is `workspace` (a worktree's own), else None."""
    dot_git = workspace / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
        try:
            line = dot_git.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if line.startswith("gitdir:"):
            target = Path(line.removeprefix("gitdir:").strip())
            target = target if target.is_absolute() else (workspace / target)
            return target.resolve() if target.is_dir() else None
    return None


def state_dir(workspace: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where Duet keeps this workspace's sessions and checkpoints (see the module docstring); not made here."""
    workspace = workspace.resolve()
    found = git_dir(workspace)
    # Never a git dir a command made: it could read and write what Duet keeps there (agent.repo.known).
    try:
        trusted = found is not None and KnownRepos(environ).trusted(workspace / ".git")
    except OSError:  # a damaged record of repositories: not the git dir, to be safe
        trusted = False
    if found is not None and trusted:
        return found / "duet"
    env = os.environ if environ is None else environ
    return state_base(env) / "workspaces" / workspace_key(workspace)


class StateWriteError(ConfigError):
    """Duet cannot write its own record of the session (a full disk, a quota, a read-only or failing disk): the
    run stops with one line and its result (exit 2, as for other problems the user must fix)."""


def state_write_error(what: str, path: Path, exc: OSError) -> StateWriteError:
    why = exc.strerror or str(exc)
    hint = " (free some space, then `agent resume --last` goes on from what was kept)" if exc.errno in (
        errno.ENOSPC, errno.EDQUOT) else ""
    return StateWriteError(f"cannot write {what} {path}: {why}; the run stopped{hint}")


def sessions_dir(workspace: Path) -> Path:
    """The directory of this workspace's transcripts, made private on first use; StateWriteError if it cannot be."""
    state = state_dir(workspace)
    try:
        return private_dir(private_dir(state) / "sessions")
    except OSError as exc:
        raise state_write_error("the session directory", state / "sessions", exc) from None


def check_session_id(session_id: str) -> str:
    """`session_id` if it is one (it becomes part of file and ref names), else a ConfigError."""
    if not SESSION_ID.match(session_id):
        raise ConfigError(f"{session_id!r} is not a session id")
    return session_id


def new_session_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


FSYNC_EVERY_S = 0.25  # a power cut loses at most this much; a killed process loses nothing (always flushed)


class TranscriptWriter:
    """Appends redacted events, one JSON line each, flushed at once (a killed process loses nothing) and
    fsynced at most every FSYNC_EVERY_S and on close: a turn writes half a dozen events, and an fsync each
    was a third of a turn's own cost.

    A write the disk refuses (ENOSPC, EDQUOT, EIO, EROFS, …) raises StateWriteError once, so the run stops with
    its result instead of going on with no record of it; the writer then drops what follows (the run's closing
    events still reach the screen and the result). Lines already written stay (a torn last line is skipped
    when the transcript is read back)."""

    def __init__(self, path: Path, redact: Redactor) -> None:
        self.path = path
        self._redact = redact
        self.failure: str | None = None
        """Why the transcript stopped being written (None while it is written)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         PRIVATE_FILE_MODE)
        except OSError as exc:
            raise state_write_error("the session transcript", path, exc) from None
        os.fchmod(fd, PRIVATE_FILE_MODE)  # also a transcript written by an older version, world-readable
        self._handle = os.fdopen(fd, "a", encoding="utf-8")
        self._synced = time.monotonic()
        self._unsynced = False

    def write(self, event: Event) -> None:
        if event.type in EPHEMERAL or self.failure is not None:
            return
        try:
            self._handle.write(self._redact(event.model_dump_json()) + "\n")
            self._handle.flush()
            self._unsynced = True
            if time.monotonic() - self._synced >= FSYNC_EVERY_S:
                self._sync()
        except OSError as exc:
            raise self._broken(exc) from None

    def _broken(self, exc: OSError) -> StateWriteError:
        """Stop writing (the unwritten rest of the buffer is dropped with the file's handle) and say why."""
        error = state_write_error("the session transcript", self.path, exc)
        self.failure = str(error)
        with contextlib.suppress(OSError):
            self._handle.close()  # flushing fails again, but the descriptor is closed all the same
        return error

    def _sync(self) -> None:
        os.fsync(self._handle.fileno())
        self._synced = time.monotonic()
        self._unsynced = False

    def close(self) -> None:
        """Sync and close; a failure here is kept in `failure` (the run is over: nothing is left to stop)."""
        if self.failure is not None or self._handle.closed:
            return
        try:
            if self._unsynced:
                self._sync()
            self._handle.close()
        except OSError as exc:
            self._broken(exc)


class TranscriptError(ConfigError):
    """A transcript that cannot be read back (exit 2)."""


def read_transcript(path: Path, on_invalid: Callable[[int, str], None] | None = None) -> Iterator[Event]:
    """The events of a transcript; a torn line (crash mid-write) is skipped. A whole JSON line that is not a valid
    event (a damaged record: NaN dollars, negative tokens) is skipped too, and told to `on_invalid` (line number,
    why). A file that is not a transcript at all (binary, not UTF-8, no event in it) is a TranscriptError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise TranscriptError(f"cannot read session {path.stem}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as found:
        st = os.fstat(found.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise TranscriptError(f"session {path.stem}: its transcript {path} is not a regular file")
        if st.st_size > MAX_TRANSCRIPT_BYTES:
            raise TranscriptError(f"session {path.stem}: its transcript {path} is over "
                                  f"{MAX_TRANSCRIPT_BYTES >> 20} MiB; not read")
        try:
            data = found.read(MAX_TRANSCRIPT_BYTES + 1)
        except OSError as exc:
            raise TranscriptError(f"cannot read session {path.stem}: {exc.strerror}") from None
    if b"\x00" in data:
        raise TranscriptError(f"session {path.stem}: its transcript {path} is binary, not a Duet transcript")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"session {path.stem}: its transcript {path} is not UTF-8 text "
                              f"(byte {data[exc.start]:#04x} at offset {exc.start})") from None
    events = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                event = parse_event(line)
            except ValueError as exc:
                if on_invalid is not None and _whole_json(line):
                    on_invalid(number, _first_error(exc))
                continue
            events += 1
            yield event
    if text.strip() and not events:
        raise TranscriptError(f"session {path.stem}: its transcript {path} holds no Duet events")


def all_sessions(workspace: Path) -> list[Path]:
    """Every transcript of this workspace, oldest first. Never one in the work tree (`.duet/sessions` of an older
    Duet, or one a repository committed): anything there could have been planted."""
    directory = state_dir(workspace) / "sessions"
    found: dict[str, tuple[float, Path]] = {}
    for path in directory.glob("*.jsonl") if directory.is_dir() else ():
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):  # never a FIFO (it would hang a reader) or a link (to /dev/zero, say)
            found[path.stem] = (st.st_mtime, path)
    return [path for _mtime, path in sorted(found.values(), key=lambda item: (item[0], item[1].stem))]


def find_session(workspace: Path, session_id: str | None) -> Path | None:
    """The transcript for `session_id`, or the most recent readable one when it is None (a damaged transcript
    newer than the others does not hide them; asked for by id, it is the caller's to report)."""
    if session_id:
        check_session_id(session_id)
        return next((p for p in all_sessions(workspace) if p.stem == session_id), None)
    damaged: TranscriptError | None = None
    for path in reversed(all_sessions(workspace)):
        try:
            next(read_transcript(path), None)
        except TranscriptError as exc:
            damaged = damaged or exc
            continue
        return path
    if damaged is not None:  # nothing readable: say why the newest one is not
        raise damaged
    return None


def _whole_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False  # torn by a crash mid-write: not damage
    return True


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc).splitlines()[0]
