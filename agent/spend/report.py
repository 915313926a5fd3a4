"""`agent cost`: spend of past sessions from their transcripts, per model and per day, and what routing saved."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel

from agent.events import UsageEvent
from agent.spend.prices import PriceTable, cost_usd
from agent.spend.usage import UsageRecord
from agent.transcript import DUET_DIR, read_transcript

REFERENCE_MODEL = "gpt-5.5"


class CostLine(BaseModel):
    calls: int = 0
    input_tokens: int = 0
    cache_hit_tokens: int = 0
    output_tokens: int = 0
    usd: Decimal = Decimal(0)

    def add(self, record: UsageRecord) -> None:
        self.calls += 1
        self.input_tokens += record.input_tokens
        self.cache_hit_tokens += record.cache_hit_tokens
        self.output_tokens += record.output_tokens
        self.usd += record.cost_usd


class CostReport(BaseModel):
    sessions: int
    by_model: dict[str, CostLine]
    by_day: dict[str, CostLine]
    total_usd: Decimal
    all_on_reference_usd: Decimal
    saved_usd: Decimal
    reference_model: str = REFERENCE_MODEL


def usage_records(workspace: Path, session_id: str | None = None,
                  since: dt.date | None = None) -> tuple[int, list[UsageRecord]]:
    """(sessions read, their usage records), optionally one session or those from a date on."""
    directory = workspace / DUET_DIR / "sessions"
    paths = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
    if session_id:
        paths = [p for p in paths if p.stem == session_id]
    records: list[UsageRecord] = []
    sessions = 0
    for path in paths:
        found = [e.record for e in read_transcript(path) if isinstance(e, UsageEvent)]
        found = [r for r in found if since is None or r.day >= since]
        if found:
            sessions += 1
            records += found
    return sessions, records


def build_report(sessions: int, records: list[UsageRecord], prices: PriceTable) -> CostReport:
    by_model: dict[str, CostLine] = defaultdict(CostLine)
    by_day: dict[str, CostLine] = defaultdict(CostLine)
    reference = Decimal(0)
    for record in records:
        by_model[record.model].add(record)
        by_day[record.day.isoformat()].add(record)
        # The same tokens billed at GPT-5.5's prices of that day: what "everything on GPT-5.5" would cost.
        price = prices.price_for(REFERENCE_MODEL, record.day)
        if price is not None:
            reference += cost_usd(price, cache_miss=record.cache_miss_tokens, cache_hit=record.cache_hit_tokens,
                                  output=record.output_tokens)
    total = sum((r.cost_usd for r in records), Decimal(0))
    return CostReport(sessions=sessions, by_model=dict(sorted(by_model.items())), by_day=dict(sorted(by_day.items())),
                      total_usd=total, all_on_reference_usd=reference, saved_usd=reference - total)
