"""Running the planned runs N at a time: each row is written the moment its run ends; no new run starts once
the eval is stopping (a signal) or its overall budget is spent."""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from agent.eval.plan import EvalConfig, RunKey
from agent.eval.results import EvalRow, ResultsFile
from agent.eval.runner import Children, HarnessError, Interrupted, InterruptedRun, RunSettings, run_one

POLL_S = 0.25  # how often the waiting thread wakes to see a stop (signals are handled between waits)


class ProgressView(Protocol):
    """Where the eval reports as it goes (the CLI shows it on stderr)."""

    def started(self, key: RunKey) -> None: ...

    def finished(self, row: EvalRow) -> None: ...

    def failed(self, key: RunKey, message: str) -> None: ...


@dataclass
class ScheduleOutcome:
    """What this invocation did."""

    finished: list[EvalRow] = field(default_factory=list)
    failures: list[tuple[RunKey, str]] = field(default_factory=list)
    not_started: list[RunKey] = field(default_factory=list)
    spent: Decimal = Decimal(0)
    budget_reached: bool = False
    halted: bool = False  # a fatal harness error: the remaining runs could not succeed either


def run_all(settings: RunSettings, keys: list[RunKey], configs: dict[str, EvalConfig], results: ResultsFile,
            *, jobs: int, children: Children, progress: ProgressView, max_cost: Decimal | None = None,
            spent: Decimal = Decimal(0)) -> ScheduleOutcome:
    """Run `keys` (already minus the finished ones), at most `jobs` at once. `spent`: dollars already spent by
    this eval's earlier rows, counted against `max_cost`."""
    outcome = ScheduleOutcome(spent=spent)
    pending = deque(keys)
    running: dict[Future[EvalRow], RunKey] = {}

    def may_start() -> bool:
        if max_cost is not None and outcome.spent >= max_cost:
            outcome.budget_reached = True
            return False
        return not children.stopping.is_set() and not outcome.halted

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="eval") as pool:
        while pending or running:
            while pending and len(running) < jobs and may_start():
                key = pending.popleft()
                progress.started(key)
                running[pool.submit(run_one, settings, key, configs[key.config], children)] = key
            if not running:
                break
            done, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                try:
                    row = future.result()
                except InterruptedRun as stopped:  # not a result, but its spend is the eval's
                    results.append(stopped.row)
                    outcome.spent += stopped.row.cost
                    continue
                except Interrupted:
                    continue
                except HarnessError as exc:
                    outcome.halted = outcome.halted or exc.fatal
                    outcome.failures.append((key, str(exc)))
                    progress.failed(key, str(exc))
                    continue
                except Exception as exc:  # a bug of ours must not lose the other runs' rows
                    message = f"internal error: {type(exc).__name__}: {exc}"
                    outcome.failures.append((key, message))
                    progress.failed(key, message)
                    continue
                results.append(row)
                outcome.finished.append(row)
                outcome.spent += row.cost
                progress.finished(row)
    outcome.not_started = list(pending)
    return outcome
