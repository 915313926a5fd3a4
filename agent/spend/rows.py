"""The per-model spend row: one shape for the run's JSON result and for `agent cost --output json`."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from agent.spend.ledger import ModelSpend

USD_DIGITS = 6


class ModelSpendRow(BaseModel):
    """What one model was used for and what it cost. `usd` is null when the model has no price: never 0."""

    calls: int
    input_tokens: int
    cache_hit_tokens: int
    cache_miss_tokens: int
    output_tokens: int
    reasoning_tokens: int
    usd: float | None = Field(description="Rounded to 6 decimals; null when the model is unpriced.")
    usd_exact: str | None = Field(description="Exact decimal as text; null when the model is unpriced.")
    estimated_calls: int = Field(description="Calls whose usage was estimated (stream cut, cancelled).")
    priced: bool = Field(description="False when no price row covers the model: its spend is unknown.")


def spend_row(spend: ModelSpend) -> ModelSpendRow:
    """The row of one model from its ledger totals."""
    priced = spend.priced
    return ModelSpendRow(
        calls=spend.calls, input_tokens=spend.input_tokens, cache_hit_tokens=spend.cache_hit_tokens,
        cache_miss_tokens=spend.cache_miss_tokens, output_tokens=spend.output_tokens,
        reasoning_tokens=spend.reasoning_tokens,
        usd=round(float(spend.cost_usd), USD_DIGITS) if priced else None,
        usd_exact=str(spend.cost_usd) if priced else None, estimated_calls=spend.estimated_calls, priced=priced,
    )


def spend_rows(by_model: Mapping[str, ModelSpend]) -> dict[str, ModelSpendRow]:
    """Rows of every model, sorted by name."""
    return {name: spend_row(spend) for name, spend in sorted(by_model.items())}
