"""The spend ledger of a session: per-model sums of every call's usage and cost."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from agent.spend.usage import UsageRecord


class ModelSpend(BaseModel):
    """Running totals for one model."""

    model_config = ConfigDict(frozen=True)

    model: str
    calls: int = 0
    input_tokens: int = 0
    cache_hit_tokens: int = 0
    cache_miss_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    estimated_calls: int = 0
    unpriced_calls: int = 0

    @property
    def priced(self) -> bool:
        """False when any call had no price: the model's dollars are then unknown, not zero."""
        return self.unpriced_calls == 0

    def add(self, record: UsageRecord) -> ModelSpend:
        return ModelSpend(
            model=self.model,
            calls=self.calls + 1,
            input_tokens=self.input_tokens + record.input_tokens,
            cache_hit_tokens=self.cache_hit_tokens + record.cache_hit_tokens,
            cache_miss_tokens=self.cache_miss_tokens + record.cache_miss_tokens,
            output_tokens=self.output_tokens + record.output_tokens,
            reasoning_tokens=self.reasoning_tokens + record.reasoning_tokens,
            cost_usd=self.cost_usd + record.cost_usd,
            estimated_calls=self.estimated_calls + int(record.estimated),
            unpriced_calls=self.unpriced_calls + int(not record.priced),
        )


class Ledger:
    """Sums usage records per model; lives on the session, never in a global."""

    def __init__(self) -> None:
        self._by_model: dict[str, ModelSpend] = {}
        self.records: list[UsageRecord] = []

    def add(self, record: UsageRecord) -> ModelSpend:
        spend = self._by_model.get(record.model, ModelSpend(model=record.model)).add(record)
        self._by_model[record.model] = spend
        self.records.append(record)
        return spend

    def by_model(self) -> dict[str, ModelSpend]:
        return dict(self._by_model)

    @property
    def total_usd(self) -> Decimal:
        """Dollars of the priced calls (an unpriced call adds nothing: see `unpriced_models`)."""
        return sum((s.cost_usd for s in self._by_model.values()), Decimal(0))

    def unpriced_models(self) -> list[str]:
        """Models with calls no price row covered: their spend is unknown."""
        return sorted(name for name, spend in self._by_model.items() if not spend.priced)

    @classmethod
    def of(cls, records: list[UsageRecord]) -> Ledger:
        """A ledger holding `records` (as read back from transcripts)."""
        ledger = cls()
        for record in records:
            ledger.add(record)
        return ledger

    @property
    def calls(self) -> int:
        return len(self.records)
