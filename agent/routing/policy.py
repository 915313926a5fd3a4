"""The routing policy an eval supports, decided by pure functions of its rows: for each tag, the cheapest profile
whose pass rate reaches the lower 95% Wilson bound of the best profile's (statistically as good, for less).

The policy is data (`routing.toml`, read back by `agent.routing.policy_file`); `decide_policy` makes it and
`agent.routing.policy_file.render_policy` writes it with its evidence as comments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from agent.eval.coverage import comparable
from agent.eval.results import EvalRow
from agent.eval.stats import UNTAGGED
from agent.routing.wilson import Interval, wilson

AUTO = "auto"
# Rows written before EvalRow kept its route: a configuration named like a profile was that profile.
KNOWN_PROFILES = ("cheap", "balanced", "best", "duet")


@dataclass(frozen=True)
class Evidence:
    """One profile's runs on one tag."""

    profile: str
    interval: Interval
    total_cost: Decimal
    unpriced: bool  # some run used a model without a price: its dollars are a lower bound

    @property
    def runs(self) -> int:
        return self.interval.runs

    @property
    def mean_cost(self) -> Decimal:
        return self.total_cost / self.runs if self.runs else Decimal(0)

    @property
    def cost_per_solved(self) -> Decimal | None:
        return self.total_cost / self.interval.passed if self.interval.passed else None


@dataclass(frozen=True)
class TagDecision:
    """Which profile serves a tag (None: no profile passed any of its runs), why, and on what evidence."""

    tag: str
    profile: str | None
    reason: str
    evidence: tuple[Evidence, ...]  # every profile run on this tag, cheapest first


@dataclass(frozen=True)
class PolicyDecision:
    """A whole policy: the profile for a task whose tag the policy does not know, then one per tag."""

    default: TagDecision
    tags: tuple[TagDecision, ...]
    runs: int


def profile_of(row: EvalRow) -> str | None:
    """The routing profile a row ran under; None for a pinned model, the configured default, or `auto` itself
    (a policy is made of profiles, and `auto` is what it is made into)."""
    route = row.route if row.route is not None else (row.config if row.config in KNOWN_PROFILES else None)
    return None if route in (None, AUTO) else route


def evidence(rows: list[EvalRow]) -> list[Evidence]:
    """Per profile, its runs among `rows`, cheapest first (then by name)."""
    groups: dict[str, list[EvalRow]] = defaultdict(list)
    for row in rows:
        if (profile := profile_of(row)) is not None:
            groups[profile].append(row)
    found = [Evidence(profile=name, interval=wilson(sum(1 for r in group if r.passed), len(group)),
                      total_cost=sum((r.cost for r in group), Decimal(0)),
                      unpriced=any(r.unpriced_models for r in group))
             for name, group in groups.items()]
    return sorted(found, key=lambda e: (e.mean_cost, e.profile))


def choose(tag: str, found: list[Evidence]) -> TagDecision:
    """The rule: the best is the highest pass rate (the cheaper on a tie); every profile whose pass rate reaches
    the best's lower Wilson bound is as good as far as the runs can tell; of those, the cheapest per run."""
    ordered = tuple(sorted(found, key=lambda e: (e.mean_cost, e.profile)))
    if not ordered:
        return TagDecision(tag, None, "no profile was run on these tasks", ())
    best = max(ordered, key=lambda e: (e.interval.rate, -e.mean_cost))
    if best.interval.passed == 0:
        return TagDecision(tag, None, "no profile passed any run", ordered)
    bound = best.interval.low
    within = [e for e in ordered if e.interval.passed and e.interval.rate >= bound]
    pick = within[0]  # cheapest first; `best` itself is always within
    if len(ordered) == 1:
        reason = "the only profile run"
    elif pick is best:
        reason = f"the best pass rate, {best.interval.describe()}; no cheaper profile reaches its lower bound"
    else:
        reason = (f"the cheapest whose pass rate reaches {_pct(bound)}, the lower 95% bound of the best "
                  f"({best.profile}: {best.interval.describe()})")
    if pick.unpriced:
        reason += "; some of its runs used unpriced models, so its cost is a lower bound"
    return TagDecision(tag, pick.profile, reason, ordered)


def decide_policy(rows: list[EvalRow], profiles: Collection[str] | None = None) -> PolicyDecision:
    """The policy `rows` support, on the (task, repeat) pairs every configuration finished. `profiles`, when
    given, limits the candidates (e.g. to those an eval was asked to compare)."""
    shared = [r for r in comparable(rows) if profile_of(r) is not None
              and (profiles is None or profile_of(r) in profiles)]
    by_tag: dict[str, list[EvalRow]] = defaultdict(list)
    for row in shared:
        for tag in row.tags or [UNTAGGED]:
            by_tag[tag].append(row)
    tags = tuple(choose(tag, evidence(group)) for tag, group in sorted(by_tag.items()) if tag != UNTAGGED)
    return PolicyDecision(default=choose("all tasks", evidence(shared)), tags=tags, runs=len(shared))


def descriptions_of(decision: PolicyDecision, known: Mapping[str, str]) -> dict[str, str]:
    """Each tag's description (for the classification call), from what the suite or an earlier policy said."""
    return {d.tag: known.get(d.tag, "") for d in decision.tags}


def _pct(value: Decimal) -> str:
    return f"{value * 100:.0f}%"
