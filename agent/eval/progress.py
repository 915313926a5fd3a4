"""The eval's progress on stderr: a rich progress bar (runs done, passing, dollars so far) on a terminal, one
plain line per finished run otherwise (CI logs)."""

from __future__ import annotations

import sys
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from agent.eval.plan import RunKey
from agent.eval.results import EvalRow

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def _money(value: Decimal) -> str:
    return f"${value:.4f}"


class EvalProgress:
    """Counts and shows runs as they finish. Thread-safe: the scheduler calls it from its thread."""

    def __init__(self, total: int, already: list[EvalRow], stream: TextIO | None = None,
                 live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = len(already)
        self.passing = sum(1 for r in already if r.passed)
        self.spent = sum((r.cost for r in already), Decimal(0))
        self.failed_runs = 0
        self._lock = threading.Lock()
        self._live = self.stream.isatty() if live is None else live
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> EvalProgress:
        if self._live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            bar = Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                           TimeElapsedColumn(), console=Console(file=self.stream), transient=False)
            bar.start()
            self._task = bar.add_task(self._status(), total=self.total, completed=self.done)
            self._bar = bar
        elif self.done:
            self._line(f"eval: resuming, {self.done} of {self.total} runs already in results")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _status(self) -> str:
        failed = f" · {self.failed_runs} harness errors" if self.failed_runs else ""
        return f"passing {self.passing} · {_money(self.spent)}{failed}"

    def _line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    def _refresh(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.done, description=self._status())

    def started(self, key: RunKey) -> None:
        """Nothing to show until it ends (the bar already shows the elapsed time)."""

    def finished(self, row: EvalRow) -> None:
        with self._lock:
            self.done += 1
            self.passing += row.passed
            self.spent += row.cost
            verdict = "passed" if row.passed else "FAILED"
            self._line(f"eval: [{self.done}/{self.total}] {row.key.label()} {verdict} {_money(row.cost)} "
                       f"({row.num_turns} turns, {row.duration_ms / 1000:.1f} s) · passing {self.passing} · "
                       f"{_money(self.spent)} so far")
            self._refresh()

    def failed(self, key: RunKey, message: str) -> None:
        with self._lock:
            self.failed_runs += 1
            self._line(f"eval: {key.label()}: harness error: {message}")
            self._refresh()
