"""How a run ends, and the exit code each ending gives (documented in the README)."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    DONE = "done"
    NOT_DONE = "not_done"
    PERMISSION = "permission_denied"  # changes the run needed were refused by the approval mode
    CONFIG_ERROR = "config_error"
    BUDGET = "budget_exhausted"
    TURN_LIMIT = "turn_limit"
    TIME_LIMIT = "time_limit"
    UNAVAILABLE = "provider_unavailable"
    INTERRUPTED = "interrupted"
    TEST_COMMAND = "test_command_failed"  # the test command itself could not run (not found, not executable)


EXIT_CODES: dict[Outcome, int] = {
    Outcome.DONE: 0,
    Outcome.NOT_DONE: 1,
    Outcome.PERMISSION: 1,
    Outcome.CONFIG_ERROR: 2,
    Outcome.BUDGET: 3,
    Outcome.TURN_LIMIT: 4,
    Outcome.TIME_LIMIT: 4,
    Outcome.UNAVAILABLE: 5,
    Outcome.INTERRUPTED: 130,
    Outcome.TEST_COMMAND: 6,
}

BROKEN_PIPE_EXIT = 141
"""128 + SIGPIPE: what a shell reports for a program stopped by a closed pipe (`agent … | head`)."""
