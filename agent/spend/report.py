"""`agent cost`: spend of past sessions from their transcripts, per model and per day, and what routing saved."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from agent.errors import ConfigError
from agent.events import SessionStarted, UsageEvent
from agent.spend.counterfactual import REFERENCE_MODEL, Counterfactual, counterfactual, reference_cost
from agent.spend.explain import explain_record
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable
from agent.spend.rows import ModelSpendRow, spend_rows
from agent.spend.usage import UsageRecord
from agent.transcript import TranscriptError, all_sessions, read_transcript, state_dir
from agent.userdirs import state_base

__all__ = ["REFERENCE_MODEL", "CostReport", "build_report", "reference_cost", "session_usage"]


@dataclass(frozen=True)
class SessionUsage:
    """The usage records of one stored session."""

    session_id: str
    path: Path
    records: list[UsageRecord]
    task: str = ""
    workspace: str = ""


class CostLine(BaseModel):
    """Totals of a group of calls (a day). Dollars count priced calls only."""

    calls: int = 0
    input_tokens: int = 0
    cache_hit_tokens: int = 0
    output_tokens: int = 0
    usd: Decimal = Decimal(0)
    unpriced_calls: int = 0

    def add(self, record: UsageRecord) -> None:
        self.calls += 1
        self.input_tokens += record.input_tokens
        self.cache_hit_tokens += record.cache_hit_tokens
        self.output_tokens += record.output_tokens
        self.usd += record.cost_usd
        self.unpriced_calls += int(not record.priced)


class WorkspaceLine(BaseModel):
    """One workspace's share of a roll-up (`agent cost --all`)."""

    sessions: int = 0
    calls: int = 0
    usd: Decimal = Field(default=Decimal(0), description="Dollars of the priced calls.")
    unpriced_calls: int = 0


class CallLine(BaseModel):
    """One call and what priced it (`agent cost --explain`)."""

    session_id: str
    record: UsageRecord
    explanation: str


class CostReport(BaseModel):
    sessions: int
    models: dict[str, ModelSpendRow] = Field(description="Same per-model fields as the run's JSON result.")
    by_day: dict[str, CostLine]
    total_usd: Decimal = Field(description="Dollars of the priced models only.")
    unpriced_models: list[str] = Field(description="Models with no price row: left out of every dollar figure.")
    all_on_reference_usd: Decimal | None = Field(description="The priced calls' tokens at the reference's prices.")
    saved_usd: Decimal | None = Field(description="What routing saved on the priced calls.")
    saved_percent: float | None = Field(default=None, description="saved_usd as a percentage of all on the "
                                                                  "reference (null without a reference price).")
    workspaces: dict[str, WorkspaceLine] | None = Field(default=None, description="Per workspace (--all only).")
    reference_model: str = REFERENCE_MODEL
    counterfactual: Counterfactual = Field(default_factory=Counterfactual,
                                           description="Actual against all on the reference, and per role.")
    calls: list[CallLine] | None = Field(default=None, description="Every call and its price row (--explain).")


def session_usage(workspace: Path, session_id: str | None = None, since: dt.date | None = None,
                  on_skip: Callable[[str], None] | None = None) -> list[SessionUsage]:
    """The stored sessions with usage, optionally one session or the calls from a date on. A transcript that
    cannot be read (damaged, not a regular file) is skipped and reported through `on_skip`; asked for by id, it
    is an error."""
    return _usage_of([(workspace.name, p) for p in all_sessions(workspace)], session_id, since, on_skip)


def every_workspace_usage(session_id: str | None = None, since: dt.date | None = None,
                          on_skip: Callable[[str], None] | None = None,
                          environ: dict[str, str] | None = None) -> list[SessionUsage]:
    """`agent cost --all`: the sessions of every workspace Duet keeps state for, read only. Those of plain
    directories live under the user's state directory (`workspaces/<name>-<hash>/sessions`); those of git
    repositories in the repository's git directory, found through the workspaces Duet has recorded."""
    places: dict[Path, str] = {}
    base = state_base(environ) / "workspaces"
    for folder in sorted(base.iterdir()) if base.is_dir() else ():
        if (folder / "sessions").is_dir():
            places.setdefault((folder / "sessions").resolve(), folder.name.rsplit("-", 1)[0])
    from agent.repo.known import KnownRepos

    try:
        recorded = KnownRepos(environ).places()
    except (OSError, ConfigError):
        recorded = []
    for workspace in recorded:
        try:
            sessions = state_dir(workspace, environ) / "sessions"
        except OSError:
            continue
        if sessions.is_dir():
            places.setdefault(sessions.resolve(), workspace.name or "root")
    labels = _unique_labels(places)
    paths = [(labels[folder], path) for folder in places for path in _transcripts_in(folder)]
    return _usage_of(paths, session_id, since, on_skip)


def _unique_labels(places: dict[Path, str]) -> dict[Path, str]:
    """A workspace's name, with a number when two workspaces share one (never their paths: the page is shared)."""
    seen: dict[str, int] = defaultdict(int)
    labels = {}
    for folder, name in places.items():
        seen[name] += 1
        labels[folder] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return labels


def _transcripts_in(directory: Path) -> list[Path]:
    """The regular `*.jsonl` files of a sessions directory, oldest first (never a FIFO or a link)."""
    found = []
    for path in directory.glob("*.jsonl"):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((st.st_mtime, path.stem, path))
    return [path for *_key, path in sorted(found)]


def _usage_of(paths: list[tuple[str, Path]], session_id: str | None, since: dt.date | None,
              on_skip: Callable[[str], None] | None) -> list[SessionUsage]:
    if session_id:
        paths = [(w, p) for w, p in paths if p.stem == session_id]
    found: list[SessionUsage] = []
    counted: dict[str, str] = {}  # record id -> the session it was counted in
    for workspace, path in paths:
        def invalid(number: int, why: str, path: Path = path) -> None:
            if on_skip is not None:
                on_skip(f"skipped line {number} of session {path.stem}: not a valid record ({why})")

        task = ""
        records = []
        try:
            for event in read_transcript(path, invalid):
                if isinstance(event, UsageEvent):
                    records.append(event.record)
                elif isinstance(event, SessionStarted) and not task:
                    task = event.task
        except TranscriptError as exc:
            if session_id or on_skip is None:
                raise
            on_skip(f"skipped {exc}")
            continue
        again = [r for r in records if r.id in counted]
        if again and on_skip is not None:
            on_skip(f"skipped {len(again)} usage records of session {path.stem} already counted in session "
                    f"{counted[again[0].id]} (a copied transcript)")
        records = [r for r in records if r.id not in counted]
        counted.update((r.id, path.stem) for r in records)
        records = [r for r in records if since is None or r.day >= since]
        if records:
            found.append(SessionUsage(session_id=path.stem, path=path, records=records, task=task,
                                      workspace=workspace))
    return found


def build_report(sessions: list[SessionUsage], prices: PriceTable, explain: bool = False,
                 by_workspace: bool = False) -> CostReport:
    """Totals per model and per day; savings over the priced calls only (an unpriced call's cost is unknown)."""
    records = [r for s in sessions for r in s.records]
    ledger = Ledger.of(records)
    by_day: dict[str, CostLine] = defaultdict(CostLine)
    for record in records:
        by_day[record.day.isoformat()].add(record)
    view = counterfactual(records, prices)
    reference = view.reference
    calls = None
    if explain:
        calls = [CallLine(session_id=s.session_id, record=r, explanation=explain_record(r))
                 for s in sessions for r in s.records]
    total = ledger.total_usd
    saved = None if reference is None else reference - total
    workspaces: dict[str, WorkspaceLine] | None = None
    if by_workspace:
        lines: dict[str, WorkspaceLine] = defaultdict(WorkspaceLine)
        for session in sessions:
            line = lines[session.workspace]
            line.sessions += 1
            for record in session.records:
                line.calls += 1
                line.usd += record.cost_usd if record.priced else Decimal(0)
                line.unpriced_calls += int(not record.priced)
        workspaces = dict(sorted(lines.items(), key=lambda item: item[1].usd, reverse=True))
    return CostReport(sessions=len(sessions), models=spend_rows(ledger.by_model()), by_day=dict(sorted(by_day.items())),
                      total_usd=total, unpriced_models=ledger.unpriced_models(), all_on_reference_usd=reference,
                      saved_usd=saved, saved_percent=float(saved / reference * 100) if saved is not None and reference
                      else None, counterfactual=view, calls=calls, workspaces=workspaces)

