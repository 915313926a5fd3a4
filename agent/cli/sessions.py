"""`agent sessions`: the sessions of this workspace, newest last, from their transcripts (a fold over each)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from agent.events import Event, ModelCallStarted, RunFinished, SessionStarted, TurnStarted, UsageEvent
from agent.terminal_text import neutralise
from agent.transcript import TranscriptError, all_sessions, read_transcript

TASK_CHARS = 60


@dataclass
class SessionLine:
    """What one transcript says about its session."""

    id: str
    started: str = ""
    command: str = ""
    task: str = ""
    models: list[str] = field(default_factory=list)
    spend_usd: str = "0"
    outcome: str = ""  # "" while it runs, or when it was killed before it could say

    def apply(self, event: Event) -> None:
        if isinstance(event, SessionStarted) and not self.started:
            self.started = dt.datetime.fromtimestamp(event.ts, dt.UTC).isoformat(timespec="seconds")
            self.command, self.task = event.command, event.task
        elif isinstance(event, ModelCallStarted | TurnStarted) and event.model and event.model not in self.models:
            self.models.append(event.model)
        elif isinstance(event, UsageEvent):
            self.spend_usd = str(Decimal(self.spend_usd) + event.record.cost_usd)
        elif isinstance(event, RunFinished):
            self.outcome = event.outcome


def session_lines(workspace: Path, on_skip: Callable[[str], object] = lambda _line: None) -> list[SessionLine]:
    lines = []
    for path in all_sessions(workspace):
        line = SessionLine(id=path.stem)
        try:
            for event in read_transcript(path):
                line.apply(event)
        except TranscriptError as exc:
            on_skip(f"skipped: {exc}")
            continue
        lines.append(line)
    return lines


def run_sessions(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    lines = session_lines(workspace, lambda text: print(f"agent: warning: {neutralise(text)}", file=sys.stderr))
    if args.output == "json":
        print(json.dumps([asdict(line) for line in lines], indent=2))
        return 0
    if not lines:
        print(f"no sessions in {workspace}")
        return 0
    for line in lines:
        task = line.task if len(line.task) <= TASK_CHARS else line.task[:TASK_CHARS - 1] + "…"
        models = ",".join(line.models) or "-"
        print(neutralise(f"{line.id}  {line.started or '?'}  {line.command or '?':9}  ${Decimal(line.spend_usd):.4f}  "
                         f"{line.outcome or 'unfinished':18}  {models}  {task}"))
    return 0
