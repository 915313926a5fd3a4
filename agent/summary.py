"""The end-of-run summary: what `--output json` prints and what the text renderer tabulates."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.outcome import EXIT_CODES, Outcome
from agent.spend.ledger import Ledger
from agent.spend.rows import ModelSpendRow, spend_rows

ModelSummary = ModelSpendRow  # one per-model shape for the run result and `agent cost`


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
    total_usd: float = Field(description="Dollars of the priced models only.")
    total_usd_exact: str
    unpriced_models: list[str] = Field(default_factory=list,
                                       description="Models with no price row: their spend is unknown, not 0.")


def summarize(outcome: Outcome, message: str, session_id: str, turns: int, files: dict[str, str],
              ledger: Ledger, tests_before: TestsSummary | None = None,
              tests_after: TestsSummary | None = None) -> RunSummary:
    models = spend_rows(ledger.by_model())
    return RunSummary(outcome=outcome, exit_code=EXIT_CODES[outcome], message=message, session_id=session_id,
                      turns=turns, files_changed=dict(sorted(files.items())), tests_before=tests_before,
                      tests_after=tests_after, models=models, total_usd=round(float(ledger.total_usd), 6),
                      total_usd_exact=str(ledger.total_usd), unpriced_models=ledger.unpriced_models())
