"""Saying in words what priced a call, and a session's spend as lines (`/cost`, `agent cost --explain`)."""

from __future__ import annotations

from agent.spend.counterfactual import counterfactual, counterfactual_lines
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable
from agent.spend.usage import UsageRecord


def explain_record(record: UsageRecord) -> str:
    """Which row and window priced a call, in one line."""
    if not record.priced:
        return "no price row for this model: cost unknown"
    if record.pricing is None:
        return "priced by the row in force that day (recorded before Duet kept the row)"
    return record.pricing.describe()


def call_line(record: UsageRecord) -> str:
    """One call: when, which model, what it cost, whether estimated, and what priced it."""
    when = record.started_at.strftime("%Y-%m-%d %H:%M UTC") if record.started_at else record.day.isoformat()
    cost = f"${record.cost_usd:.6f}" if record.priced else "no price"
    flag = f" (estimated: {record.note or 'no usage reported'})" if record.estimated else ""
    return f"{when}  {record.model} ({record.role})  {cost}{flag}: {explain_record(record)}"


def spend_lines(ledger: Ledger, explain: bool = False, prices: PriceTable | None = None) -> list[str]:
    """A session's spend per model (tokens for a model with no price), the counterfactual (all on GPT-5.5, per
    role) and with `explain` every call."""
    lines = []
    for name, spend in sorted(ledger.by_model().items()):
        estimated = f", {spend.estimated_calls} estimated" if spend.estimated_calls else ""
        if spend.priced:
            lines.append(f"{name}: {spend.calls} calls{estimated}, ${spend.cost_usd:.4f}")
        else:
            lines.append(f"{name}: {spend.calls} calls{estimated}, no price known ({spend.input_tokens:,} tokens "
                         f"in, {spend.output_tokens:,} out)")
    unpriced = ledger.unpriced_models()
    lines.append(f"session total ${ledger.total_usd:.4f}" + (f" (without {', '.join(unpriced)})" if unpriced else ""))
    if ledger.records:
        lines += counterfactual_lines(counterfactual(ledger.records, prices or PriceTable.builtin()))[1:]
    if explain:
        lines += [call_line(record) for record in ledger.records]
    return lines
