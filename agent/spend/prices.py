"""Dated price table: which price is in force for a model on a date, and what a call costs."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, field_validator

MILLION = Decimal(1_000_000)


class PriceRow(BaseModel):
    """Prices of one model, per million tokens, in force from `since` until a newer row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="Catalog model name the row applies to.")
    since: dt.date = Field(description="First day the row is in force.")
    input: Decimal = Field(ge=0, description="USD per million uncached input tokens.")
    cached_input: Decimal = Field(ge=0, description="USD per million cache-hit input tokens.")
    output: Decimal = Field(ge=0, description="USD per million output tokens (reasoning included).")

    @field_validator("input", "cached_input", "output", mode="before")
    @classmethod
    def _exact_decimal(cls, value: object) -> object:
        # TOML floats like 0.028 must become Decimal('0.028'), not the binary float's expansion.
        return str(value) if isinstance(value, float) else value


class PriceTable:
    """All known price rows; answers "what did this model cost on this date"."""

    def __init__(self, rows: list[PriceRow]) -> None:
        self._rows: dict[str, list[PriceRow]] = {}
        for row in rows:
            self._rows.setdefault(row.model, []).append(row)
        for model_rows in self._rows.values():
            model_rows.sort(key=lambda r: r.since)

    @classmethod
    def builtin(cls, extra: list[PriceRow] | None = None) -> PriceTable:
        """The table shipped with Duet plus any rows from the user's configuration."""
        return cls(load_builtin_rows() + list(extra or []))

    def price_for(self, model: str, on: dt.date | None = None) -> PriceRow | None:
        """The row in force for `model` on date `on` (today if omitted), or None if unknown."""
        day = on or dt.date.today()
        in_force = [r for r in self._rows.get(model, []) if r.since <= day]
        if in_force:
            return in_force[-1]
        rows = self._rows.get(model)
        return rows[0] if rows else None


def load_builtin_rows() -> list[PriceRow]:
    text = resources.files("agent.spend").joinpath("prices.toml").read_text(encoding="utf-8")
    return [PriceRow.model_validate(row) for row in tomllib.loads(text).get("price", [])]


def cost_usd(price: PriceRow, *, cache_miss: int, cache_hit: int, output: int) -> Decimal:
    """Exact cost of one call in USD (not rounded; round only for display)."""
    total = price.input * cache_miss + price.cached_input * cache_hit + price.output * output
    return total / MILLION
