"""One usage record per model call, with its exact cost and what priced it."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from agent.roles import Role
from agent.spend.prices import PriceTable, Pricing, as_utc, cost_usd, utc_now

MAX_TOKENS = 10**10  # far above any window: a figure over it is damage, not a call
MAX_CALL_USD = Decimal(10**6)


class TokenUsage(BaseModel):
    """Token counts of one call as the provider reported them (or as we estimated them)."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = Field(ge=0, description="All prompt tokens (cache hit + miss).")
    cache_hit_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0, description="Completion tokens, reasoning included.")
    reasoning_tokens: int = Field(default=0, ge=0)
    estimated: bool = Field(default=False, description="True when the provider sent no usage.")
    note: str = Field(default="", description="Why the usage is estimated (cut stream, cancelled), if it is.")

    @property
    def cache_miss_tokens(self) -> int:
        return self.input_tokens - self.cache_hit_tokens


class UsageRecord(BaseModel):
    """Usage and cost of one call to one model."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="This record's identity: a transcript "
                    "copied under another name is not billed twice.")
    model: str
    day: dt.date = Field(description="UTC day the call started.")
    started_at: dt.datetime | None = Field(default=None, description="When the call started (UTC); absent in "
                                                                     "records written before Duet kept it.")
    input_tokens: int = Field(ge=0, le=MAX_TOKENS)
    cache_hit_tokens: int = Field(ge=0, le=MAX_TOKENS)
    cache_miss_tokens: int = Field(ge=0, le=MAX_TOKENS)
    output_tokens: int = Field(ge=0, le=MAX_TOKENS)
    reasoning_tokens: int = Field(ge=0, le=MAX_TOKENS)
    estimated: bool
    cost_usd: Decimal = Field(ge=0, le=MAX_CALL_USD, allow_inf_nan=False)
    priced: bool = Field(description="False when no price is known for the model: its cost is unknown, not 0.")
    pricing: Pricing | None = Field(default=None, description="The price row and window that priced the call.")
    note: str = Field(default="", description="Why the call was estimated (cut stream, cancelled), if it was.")
    role: Role = Field(default="execute", description="What the call was for (records written before roles: the "
                                                      "driver).")
    reason: str = Field(default="", description="Why the call went to this model.")


def price_usage(model: str, usage: TokenUsage, table: PriceTable,
                at: dt.datetime | dt.date | None = None, *, role: Role = "execute", reason: str = "") -> UsageRecord:
    """Turn token counts into a record, priced by the row in force when the call started (now if omitted)."""
    started = as_utc(at) if at is not None else utc_now()
    pricing = table.pricing_at(model, started)
    cost = (
        cost_usd(pricing, cache_miss=usage.cache_miss_tokens, cache_hit=usage.cache_hit_tokens,
                 output=usage.output_tokens)
        if pricing else Decimal(0)
    )
    return UsageRecord(
        model=model, day=started.date(), started_at=started, input_tokens=usage.input_tokens,
        cache_hit_tokens=usage.cache_hit_tokens, cache_miss_tokens=usage.cache_miss_tokens,
        output_tokens=usage.output_tokens, reasoning_tokens=usage.reasoning_tokens, estimated=usage.estimated,
        cost_usd=cost, priced=pricing is not None, pricing=pricing, note=usage.note, role=role, reason=reason,
    )
