"""`agent undo`: put back the files a session changed, keeping every change made since by someone else.

Exit codes: 0 everything the session changed is restored; 1 something was not (files changed since, left
alone; shell changes outside git; no checkpoint; a refused record); 2 no such session.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.errors import ConfigError
from agent.transcript import check_session_id, find_session
from agent.undo import UndoError, apply_plan, forced_diffs, latest_checkpoint, plan_undo
from agent.undo.model import NoCheckpoint


def resolve_session(workspace: Path, session_id: str | None) -> str:
    """The session to undo: the one named, or the latest that changed something (its transcript may be gone)."""
    if session_id:
        return check_session_id(session_id)
    latest = latest_checkpoint(workspace)
    if latest:
        return latest
    if find_session(workspace, None) is None:
        raise ConfigError("no session in this workspace")
    raise UndoError("no session in this workspace changed anything")


def _changed_by(transcript: Path) -> list[str]:
    """The files a session's transcript says it changed."""
    from agent.events import FileChanged
    from agent.transcript import read_transcript

    return sorted({e.path for e in read_transcript(transcript) if isinstance(e, FileChanged)})


def run_undo(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    session_id = resolve_session(workspace, None if args.last else args.session)
    try:
        plan = plan_undo(workspace, session_id)
    except NoCheckpoint as exc:
        transcript = find_session(workspace, session_id)
        if transcript is None:
            raise ConfigError(f"no such session: {session_id} (not in {workspace})") from None
        if changed := _changed_by(transcript):  # never "changed nothing" for a session that changed files
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            raise UndoError(f"session {session_id} changed {shown} but has no checkpoint to restore them from "
                            "(it could not be made, or was removed); restore them by hand or from git") from exc
        raise
    if args.force:
        for diff in forced_diffs(plan, workspace):  # what --force overwrites, before it does
            print(diff, end="" if diff.endswith("\n") else "\n")
    report = apply_plan(plan, workspace, force=args.force)
    print("\n".join(report.lines()))
    return 0 if report.complete else 1
