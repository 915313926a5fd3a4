"""`agent undo`: put back the files a session changed, from its checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.checkpoint import undo
from agent.errors import ConfigError
from agent.transcript import find_session


def run_undo(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    path = find_session(workspace, None if args.last else args.session)
    if path is None:
        raise ConfigError("no such session" if args.session else "no session in this workspace")
    touched = undo(workspace, path.stem)
    print(f"restored {len(touched)} file(s) from session {path.stem}" + "".join(f"\n  {p}" for p in touched))
    return 0
