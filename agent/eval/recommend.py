"""The recommendation an eval supports: for each tag, the cheapest configuration within the best pass rate."""

from __future__ import annotations

from dataclasses import dataclass

from agent.eval.coverage import comparable
from agent.eval.results import EvalRow
from agent.eval.stats import ConfigStats, config_stats, tag_stats

ALL_TASKS = "all tasks"


@dataclass(frozen=True)
class Recommendation:
    """What to route a kind of task (a tag) to, and why."""

    tag: str
    config: str | None  # None: no configuration passed any run of this tag
    pass_rate: float
    mean_cost: str  # exact dollars per run, as text
    reason: str


def recommend(rows: list[EvalRow]) -> list[Recommendation]:
    """One recommendation for all tasks, then one per tag, made on the (task, repeat) pairs every configuration
    finished (see agent/eval/coverage.py)."""
    shared = comparable(rows)
    if rows and not shared:
        return [Recommendation(ALL_TASKS, None, 0.0, "0", "no (task, repeat) was finished by every configuration: "
                                                         "nothing to compare")]
    groups = {ALL_TASKS: config_stats(shared), **tag_stats(shared)}
    return [_pick(tag, stats) for tag, stats in groups.items() if stats]


def _pick(tag: str, stats: list[ConfigStats]) -> Recommendation:
    best_rate = max(s.pass_rate for s in stats)
    if best_rate == 0:
        return Recommendation(tag, None, 0.0, "0", "no configuration passed any run")
    best = sorted((s for s in stats if s.pass_rate == best_rate), key=lambda s: (s.mean_cost, s.config))
    pick = best[0]
    others = [s for s in stats if s is not pick]
    if not others:
        reason = "the only configuration run"
    elif len(best) > 1:
        reason = (f"ties on pass rate with {', '.join(s.config for s in best[1:])} and is the cheapest of them"
                  + _dearer(pick, best[1]))
    else:
        runner_up = max(others, key=lambda s: (s.pass_rate, -s.mean_cost))
        reason = f"the best pass rate (next: {runner_up.config} at {runner_up.pass_rate:.0%})"
    if pick.unpriced:
        reason += "; some of its runs used unpriced models, so its cost is a lower bound"
    return Recommendation(tag, pick.config, best_rate, str(pick.mean_cost), reason)


def _dearer(pick: ConfigStats, other: ConfigStats) -> str:
    if pick.mean_cost > 0:
        return f" ({other.config} costs {other.mean_cost / pick.mean_cost:.1f}× as much per run)"
    return ""
