"""How a run ends: a guard raises `Stop` (mini-swe-agent's InterruptAgentFlow) and the run returns a `RunOutcome`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agent.outcome import Outcome


class Stop(Exception):
    """The run stops here with `outcome`; `message` says why, for the user."""

    def __init__(self, outcome: Outcome, message: str = "") -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


@dataclass(frozen=True)
class Limits:
    """At most `max_turns` model answers, counted from the first run (a headless command, fix-tests' rounds
    included) or, with `turns_per_prompt`, in each run (each message in the TUI); the spend at most `max_cost`."""

    max_turns: int
    max_cost: Decimal | None = None
    turns_per_prompt: bool = False


@dataclass(frozen=True)
class RunOutcome:
    """What one run (one user prompt) came to: how it ended, why, how many model calls it made for its steps,
    and the tools of the calls the approval mode refused (not the dangerous-command list), in order."""

    outcome: Outcome
    message: str = ""
    model_calls: int = 0
    refusals: tuple[str, ...] = ()


class Fatal(Stop):
    """A failure nobody can fix from inside the run (a provider error outside the driver's calls, a bug in a
    tool): the run ends with its outcome, as one line, instead of an exception reaching the front end."""

    @classmethod
    def of(cls, exc: Exception) -> Fatal:
        return cls(Outcome.NOT_DONE, f"the run stopped on an internal error: {type(exc).__name__}: {exc}")
