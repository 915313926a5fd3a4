"""Wilson score intervals: how sure a pass rate measured on a few runs is (pure functions, exact arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

Z95 = Decimal("1.959963984540054")
"""The two-sided 95% normal quantile: the interval's confidence."""


@dataclass(frozen=True)
class Interval:
    """A pass rate `passed / runs` and its Wilson score interval [low, high] (fractions of 1)."""

    passed: int
    runs: int
    low: Decimal
    high: Decimal

    @property
    def rate(self) -> Decimal:
        return Decimal(self.passed) / Decimal(self.runs) if self.runs else Decimal(0)

    def describe(self) -> str:
        """`4/5 = 80% (95% CI 38%–96%)`."""
        return (f"{self.passed}/{self.runs} = {_pct(self.rate)} "
                f"(95% CI {_pct(self.low)}–{_pct(self.high)})")


def wilson(passed: int, runs: int, z: Decimal = Z95) -> Interval:
    """The Wilson score interval of `passed` successes in `runs` trials:

        centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²)

    With no runs nothing is known: [0, 1]."""
    if runs <= 0:
        return Interval(passed=0, runs=0, low=Decimal(0), high=Decimal(1))
    if not 0 <= passed <= runs:
        raise ValueError(f"passed must be between 0 and runs ({passed} of {runs})")
    with localcontext() as ctx:
        ctx.prec = 28
        n, p, z2 = Decimal(runs), Decimal(passed) / Decimal(runs), z * z
        denominator = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()
        low, high = max(Decimal(0), centre - half), min(Decimal(1), centre + half)
    return Interval(passed=passed, runs=runs, low=+low, high=+high)


def _pct(value: Decimal) -> str:
    return f"{value * 100:.0f}%"
