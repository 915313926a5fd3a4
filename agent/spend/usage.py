"""One usage record per model call, with its exact cost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from agent.spend.prices import PriceTable, cost_usd


class TokenUsage(BaseModel):
    """Token counts of one call as the provider reported them (or as we estimated them)."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = Field(ge=0, description="All prompt tokens (cache hit + miss).")
    cache_hit_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0, description="Completion tokens, reasoning included.")
    reasoning_tokens: int = Field(default=0, ge=0)
    estimated: bool = Field(default=False, description="True when the provider sent no usage.")

    @property
    def cache_miss_tokens(self) -> int:
        return self.input_tokens - self.cache_hit_tokens


class UsageRecord(BaseModel):
    """Usage and cost of one call to one model."""

    model_config = ConfigDict(frozen=True)

    model: str
    day: dt.date
    input_tokens: int
    cache_hit_tokens: int
    cache_miss_tokens: int
    output_tokens: int
    reasoning_tokens: int
    estimated: bool
    cost_usd: Decimal
    priced: bool = Field(description="False when no price is known for the model (cost counted as 0).")


def price_usage(model: str, usage: TokenUsage, table: PriceTable, day: dt.date | None = None) -> UsageRecord:
    """Turn token counts into a record, priced from the row in force on `day`."""
    on = day or dt.date.today()
    price = table.price_for(model, on)
    cost = (
        cost_usd(price, cache_miss=usage.cache_miss_tokens, cache_hit=usage.cache_hit_tokens,
                 output=usage.output_tokens)
        if price else Decimal(0)
    )
    return UsageRecord(
        model=model, day=on, input_tokens=usage.input_tokens, cache_hit_tokens=usage.cache_hit_tokens,
        cache_miss_tokens=usage.cache_miss_tokens, output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens, estimated=usage.estimated, cost_usd=cost,
        priced=price is not None,
    )
