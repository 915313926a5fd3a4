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


def run_undo(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    session_id = resolve_session(workspace, None if args.last else args.session)
    plan = plan_undo(workspace, session_id)
    if args.force:
        for diff in forced_diffs(plan, workspace):  # what --force overwrites, before it does
            print(diff, end="" if diff.endswith("\n") else "\n")
    report = apply_plan(plan, workspace, force=args.force)
    print("\n".join(report.lines()))
    return 0 if report.complete else 1
