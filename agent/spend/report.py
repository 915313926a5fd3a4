"""`agent cost`: spend of past sessions from their transcripts, per model and per day, and what routing saved."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from agent.events import UsageEvent
from agent.spend.counterfactual import REFERENCE_MODEL, Counterfactual, counterfactual, reference_cost
from agent.spend.explain import explain_record
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable
from agent.spend.rows import ModelSpendRow, spend_rows
from agent.spend.usage import UsageRecord
from agent.transcript import TranscriptError, all_sessions, read_transcript

__all__ = ["REFERENCE_MODEL", "CostReport", "build_report", "reference_cost", "session_usage"]


@dataclass(frozen=True)
class SessionUsage:
    """The usage records of one stored session."""

    session_id: str
    path: Path
    records: list[UsageRecord]


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
    reference_model: str = REFERENCE_MODEL
    counterfactual: Counterfactual = Field(default_factory=Counterfactual,
                                           description="Actual against all on the reference, and per role.")
    calls: list[CallLine] | None = Field(default=None, description="Every call and its price row (--explain).")


def session_usage(workspace: Path, session_id: str | None = None, since: dt.date | None = None,
                  on_skip: Callable[[str], None] | None = None) -> list[SessionUsage]:
    """The stored sessions with usage, optionally one session or the calls from a date on. A transcript that
    cannot be read (damaged, not a regular file) is skipped and reported through `on_skip`; asked for by id, it
    is an error."""
    paths = all_sessions(workspace)
    if session_id:
        paths = [p for p in paths if p.stem == session_id]
    found: list[SessionUsage] = []
    counted: dict[str, str] = {}  # record id -> the session it was counted in
    for path in paths:
        def invalid(number: int, why: str, path: Path = path) -> None:
            if on_skip is not None:
                on_skip(f"skipped line {number} of session {path.stem}: not a valid record ({why})")

        try:
            records = [e.record for e in read_transcript(path, invalid) if isinstance(e, UsageEvent)]
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
            found.append(SessionUsage(session_id=path.stem, path=path, records=records))
    return found


def build_report(sessions: list[SessionUsage], prices: PriceTable, explain: bool = False) -> CostReport:
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
    return CostReport(sessions=len(sessions), models=spend_rows(ledger.by_model()), by_day=dict(sorted(by_day.items())),
                      total_usd=total, unpriced_models=ledger.unpriced_models(), all_on_reference_usd=reference,
                      saved_usd=None if reference is None else reference - total, counterfactual=view,
                      calls=calls)

