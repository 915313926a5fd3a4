"""The end-of-run summary: what `--output json` prints and what the text renderer tabulates."""

from __future__ import annotations

from pydantic import BaseModel

from agent.outcome import EXIT_CODES, Outcome
from agent.spend.ledger import Ledger


class ModelSummary(BaseModel):
    calls: int
    input_tokens: int
    cache_hit_tokens: int
    cache_miss_tokens: int
    output_tokens: int
    reasoning_tokens: int
    usd: float
    usd_exact: str
    estimated_calls: int


class TestsSummary(BaseModel):
    command: str
    passed: bool
    exit_code: int
    summary: str


class RunSummary(BaseModel):
    outcome: Outcome
    exit_code: int
    message: str
    session_id: str
    turns: int
    files_changed: dict[str, str]
    tests_before: TestsSummary | None = None
    tests_after: TestsSummary | None = None
    models: dict[str, ModelSummary]
    total_usd: float
    total_usd_exact: str


def summarize(outcome: Outcome, message: str, session_id: str, turns: int, files: dict[str, str],
              ledger: Ledger, tests_before: TestsSummary | None = None,
              tests_after: TestsSummary | None = None) -> RunSummary:
    models = {
        name: ModelSummary(calls=s.calls, input_tokens=s.input_tokens, cache_hit_tokens=s.cache_hit_tokens,
                           cache_miss_tokens=s.cache_miss_tokens, output_tokens=s.output_tokens,
                           reasoning_tokens=s.reasoning_tokens, usd=round(float(s.cost_usd), 6),
                           usd_exact=str(s.cost_usd), estimated_calls=s.estimated_calls)
        for name, s in sorted(ledger.by_model().items())
    }
    return RunSummary(outcome=outcome, exit_code=EXIT_CODES[outcome], message=message, session_id=session_id,
                      turns=turns, files_changed=dict(sorted(files.items())), tests_before=tests_before,
                      tests_after=tests_after, models=models, total_usd=round(float(ledger.total_usd), 6),
                      total_usd_exact=str(ledger.total_usd))
