"""Do the configurations of an eval cover the same runs? After a `--max-cost` stop, an interruption, or a merge
missing a shard they may not, and a configuration that skipped the hard task would look better than one that
ran it. Comparisons are then made on the (task, repeat) pairs every configuration finished, and said so."""

from __future__ import annotations

from dataclasses import dataclass

from agent.eval.results import EvalRow


@dataclass(frozen=True)
class Coverage:
    """Which (task, repeat) pairs each configuration finished."""

    runs: dict[str, int]
    shared: frozenset[tuple[str, int]]

    @property
    def equal(self) -> bool:
        return all(count == len(self.shared) for count in self.runs.values())

    def note(self) -> str | None:
        """One sentence for the reports when coverage is unequal, else None."""
        if self.equal:
            return None
        counts = ", ".join(f"{config} {count}" for config, count in self.runs.items())
        return (f"Unequal coverage: the configurations finished different runs ({counts}). The recommendation "
                f"compares them only on the {len(self.shared)} (task, repeat) pairs every configuration finished; "
                "the tables below count every run.")


def coverage(rows: list[EvalRow]) -> Coverage:
    """The coverage of `rows`."""
    pairs: dict[str, set[tuple[str, int]]] = {}
    for row in rows:
        pairs.setdefault(row.config, set()).add((row.task, row.repeat))
    shared = frozenset.intersection(*(frozenset(p) for p in pairs.values())) if pairs else frozenset()
    return Coverage({config: len(p) for config, p in sorted(pairs.items())}, shared)


def comparable(rows: list[EvalRow]) -> list[EvalRow]:
    """The rows of the (task, repeat) pairs every configuration finished."""
    shared = coverage(rows).shared
    return [row for row in rows if (row.task, row.repeat) in shared]
