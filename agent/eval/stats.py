"""The figures of an eval report, computed from its rows (pure functions, no I/O)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from agent.eval.results import EvalRow

UNTAGGED = "(untagged)"


@dataclass(frozen=True)
class ConfigStats:
    """One configuration's runs (over all tasks, or those of one tag)."""

    config: str
    runs: int
    passed: int
    total_cost: Decimal
    mean_turns: float
    mean_seconds: float
    unpriced: bool  # some run used a model without a price: the dollars are a lower bound

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def mean_cost(self) -> Decimal:
        return self.total_cost / self.runs if self.runs else Decimal(0)

    @property
    def cost_per_solved(self) -> Decimal | None:
        """Dollars spent (on all runs, failed ones too) per run that passed; None when none passed."""
        return self.total_cost / self.passed if self.passed else None


def config_stats(rows: list[EvalRow]) -> list[ConfigStats]:
    """One entry per configuration, sorted by name."""
    groups: dict[str, list[EvalRow]] = defaultdict(list)
    for row in rows:
        groups[row.config].append(row)
    return [_stats(name, group) for name, group in sorted(groups.items())]


def tag_stats(rows: list[EvalRow]) -> dict[str, list[ConfigStats]]:
    """Per tag (tasks without one under "(untagged)"), the configurations' figures on that tag's runs."""
    by_tag: dict[str, list[EvalRow]] = defaultdict(list)
    for row in rows:
        for tag in row.tags or [UNTAGGED]:
            by_tag[tag].append(row)
    return {tag: config_stats(group) for tag, group in sorted(by_tag.items())}


def pareto_front(stats: list[ConfigStats]) -> list[str]:
    """The configurations no other beats on both counts: as high a pass rate for less, or higher for as little
    (mean cost per run against pass rate). Sorted by cost."""
    front = [s for s in stats
             if not any(o.pass_rate >= s.pass_rate and o.mean_cost <= s.mean_cost
                        and (o.pass_rate > s.pass_rate or o.mean_cost < s.mean_cost) for o in stats)]
    return [s.config for s in sorted(front, key=lambda s: (s.mean_cost, -s.pass_rate))]


def _stats(config: str, rows: list[EvalRow]) -> ConfigStats:
    n = len(rows)
    return ConfigStats(config=config, runs=n, passed=sum(1 for r in rows if r.passed),
                       total_cost=sum((r.cost for r in rows), Decimal(0)),
                       mean_turns=sum(r.num_turns for r in rows) / n if n else 0.0,
                       mean_seconds=sum(r.duration_ms for r in rows) / n / 1000 if n else 0.0,
                       unpriced=any(r.unpriced_models for r in rows))


def role_dollars(rows: list[EvalRow]) -> dict[str, dict[str, Decimal]]:
    """Per configuration (sorted), exact dollars per role (sorted) over its runs (rows from before roles: none)."""
    out: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        spend = out[row.config]
        for role, usd in row.roles.items():
            spend[role] = spend.get(role, Decimal(0)) + Decimal(usd)
    return {config: dict(sorted(spend.items())) for config, spend in sorted(out.items())}
