"""Which runs an eval makes: every task × configuration × repeat, sorted, and a shard's slice of them.

A run's key (task, config, repeat) names it everywhere: in results.jsonl, on resume, across shards and merges.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.errors import ConfigError

DEFAULT_CONFIG = "default"


@dataclass(frozen=True, order=True)
class EvalConfig:
    """One configuration under test: a routing profile, a pinned model, or the configured default."""

    name: str
    route: str | None = None
    model: str | None = None

    def agent_flags(self) -> list[str]:
        if self.model:
            return ["--model", self.model]
        if self.route:
            return ["--route", self.route]
        return []


@dataclass(frozen=True, order=True)
class RunKey:
    """One run: ordered by task, then configuration, then repeat (the order shards slice)."""

    task: str
    config: str
    repeat: int

    def label(self) -> str:
        return f"{self.task} · {self.config} · #{self.repeat}"


def configurations(routes: list[str], models: list[str]) -> list[EvalConfig]:
    """Each route value and each model value is one configuration; none given: the configured route."""
    configs = [EvalConfig(name=r, route=r) for r in routes] + [EvalConfig(name=m, model=m) for m in models]
    if not configs:
        return [EvalConfig(name=DEFAULT_CONFIG)]
    names = [c.name for c in configs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"configuration {twice[0]!r} is given twice (--route and --model values name them)")
    return configs


def plan_runs(task_ids: list[str], configs: list[EvalConfig], repeat: int) -> list[RunKey]:
    """Every run of the eval, sorted (so the plan does not depend on the order flags were given)."""
    return sorted(RunKey(t, c.name, r) for t in task_ids for c in configs for r in range(1, repeat + 1))


@dataclass(frozen=True)
class Shard:
    """`--shard I/N`: the I-th of N disjoint slices (I counts from 1)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index_text, count_text = text.split("/")
            index, count = int(index_text), int(count_text)
        except ValueError:
            raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
        if count < 1 or not 1 <= index <= count:
            raise ConfigError(f"--shard {text!r}: I must be between 1 and N (N at least 1)")
        return cls(index, count)

    def select(self, runs: list[RunKey]) -> list[RunKey]:
        """Round-robin over the sorted runs: disjoint, together complete, and balanced within one run."""
        return sorted(runs)[self.index - 1::self.count]
