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
        return sum((s.cost_usd for s in self._by_model.values()), Decimal(0))

    @property
    def calls(self) -> int:
        return len(self.records)
