"""The counterfactual of a session: what it cost, what the same tokens would have cost all on GPT-5.5, and the
share of the dollars each role (plan, execute, review, ...) took. Pure functions of the usage records, exact.

Each record is re-priced by the reference model's row in force when that call started (its input, cache-hit and
output tokens at that row's rates, peak hours included), so the figure is "this session, had every step gone to
GPT-5.5", not today's prices. Only priced calls count on both sides: an unpriced call's cost is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, Field

from agent.spend.prices import PriceTable, cost_usd
from agent.spend.usage import UsageRecord

REFERENCE_MODEL = "gpt-5.5"


class RoleSpend(BaseModel):
    """What one role's calls cost."""

    calls: int = 0
    usd_exact: str = Field(default="0", description="Exact dollars of the role's priced calls, as text.")
    share: float = Field(default=0.0, description="Fraction of the session's priced dollars (0 when it cost 0).")
    unpriced_calls: int = 0


class Counterfactual(BaseModel):
    """A session's dollars against the same tokens all on the reference model, and per role."""

    reference_model: str = REFERENCE_MODEL
    actual_usd_exact: str = Field(default="0", description="Exact dollars of the priced calls, as text.")
    all_on_reference_usd_exact: str | None = Field(
        default=None, description="The priced calls' tokens at the reference's price row in force at each call; "
                                  "null when some call fell where the reference had no price.")
    saved_usd_exact: str | None = Field(default=None, description="Reference minus actual; null as above.")
    roles: dict[str, RoleSpend] = Field(default_factory=dict, description="Per role, sorted by name.")
    unpriced_calls: int = Field(default=0, description="Calls of unpriced models: left out of every figure.")

    @property
    def actual(self) -> Decimal:
        return Decimal(self.actual_usd_exact)

    @property
    def reference(self) -> Decimal | None:
        return None if self.all_on_reference_usd_exact is None else Decimal(self.all_on_reference_usd_exact)


def reference_cost(record: UsageRecord, prices: PriceTable, model: str = REFERENCE_MODEL) -> Decimal | None:
    """The same tokens billed at `model`'s price row when the call was made (None: no row then)."""
    pricing = prices.pricing_at(model, record.started_at or record.day)
    if pricing is None:
        return None
    return cost_usd(pricing, cache_miss=record.cache_miss_tokens, cache_hit=record.cache_hit_tokens,
                    output=record.output_tokens)


def role_dollars(records: Iterable[UsageRecord]) -> dict[str, Decimal]:
    """Exact dollars per role over the priced calls, sorted by role."""
    sums: dict[str, Decimal] = {}
    for record in records:
        if record.priced:
            sums[record.role] = sums.get(record.role, Decimal(0)) + record.cost_usd
    return dict(sorted(sums.items()))


def counterfactual(records: Iterable[UsageRecord], prices: PriceTable,
                   model: str = REFERENCE_MODEL) -> Counterfactual:
    """The counterfactual of these records (one session's, or several)."""
    records = list(records)
    actual = Decimal(0)
    reference: Decimal | None = Decimal(0)
    roles: dict[str, RoleSpend] = {}
    per_role: dict[str, Decimal] = {}
    for record in records:
        row = roles.setdefault(record.role, RoleSpend())
        row.calls += 1
        if not record.priced:
            row.unpriced_calls += 1
            continue
        actual += record.cost_usd
        per_role[record.role] = per_role.get(record.role, Decimal(0)) + record.cost_usd
        if reference is not None:
            on_reference = reference_cost(record, prices, model)
            reference = None if on_reference is None else reference + on_reference
    for role, row in roles.items():
        spent = per_role.get(role, Decimal(0))
        row.usd_exact = str(spent)
        row.share = float(spent / actual) if actual else 0.0
    return Counterfactual(reference_model=model, actual_usd_exact=str(actual),
                          all_on_reference_usd_exact=None if reference is None else str(reference),
                          saved_usd_exact=None if reference is None else str(reference - actual),
                          roles=dict(sorted(roles.items())), unpriced_calls=sum(r.unpriced_calls
                                                                                 for r in roles.values()))


def counterfactual_lines(view: Counterfactual) -> list[str]:
    """The counterfactual in a few short lines (the TUI spend panel, `/cost`, the text summary)."""
    lines = [f"spent ${view.actual:.4f}"]
    if view.reference is not None:
        saved = view.reference - view.actual
        lines.append(f"all on {view.reference_model}: ${view.reference:.4f} "
                     f"({'saved' if saved >= 0 else 'extra'} ${abs(saved):.4f})")
    else:
        lines.append(f"all on {view.reference_model}: no price known")
    if view.roles:
        lines.append("by role: " + ", ".join(f"{role} {row.share:.0%} (${Decimal(row.usd_exact):.4f})"
                                             for role, row in view.roles.items()))
    return lines
