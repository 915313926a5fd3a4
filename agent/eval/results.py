"""`results.jsonl`: one line per finished run, appended and synced as each run ends, so an interrupted eval
loses nothing it finished and resumes by key. Merging shards is reading several files and keeping each key once.
"""

from __future__ import annotations

import json
import os
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from agent.errors import ConfigError
from agent.eval.plan import RunKey
from agent.result import ModelSummary

RESULTS_FILE = "results.jsonl"


class EvalRow(BaseModel):
    """One run of one task under one configuration."""

    task: str
    config: str
    route: str | None = Field(default=None, description="The routing profile the run used (None: a pinned "
                                                       "model or the configured default).")
    repeat: int
    passed: bool = Field(description="The task's check exited 0 after the run.")
    exit_code: int = Field(description="The agent's exit code.")
    subtype: str = Field(description="The agent's result subtype (success, error_max_budget_usd, ...).")
    cost_usd: float
    cost_usd_exact: str = Field(description="Exact dollars of the priced models, as text.")
    models: dict[str, ModelSummary] = Field(default_factory=dict, description="Per-model cost and tokens.")
    unpriced_models: list[str] = Field(default_factory=list)
    num_turns: int
    duration_ms: int = Field(description="The agent's own time for the run.")
    wall_ms: int = Field(description="The harness's time for the run: copy, setup, agent, check, clean-up.")
    agent_wall_ms: int = Field(default=0, description="The agent process's time, start to exit.")
    check_ms: int = Field(default=0, description="The check command's time.")
    session_id: str
    tags: list[str] = Field(default_factory=list)
    check_exit_code: int | None = None
    check_output: str = Field(default="", description="The check's last lines.")
    duet_version: str = ""
    routed_profile: str | None = Field(default=None, description="The profile `--route auto` chose for the run.")
    roles: dict[str, str] = Field(default_factory=dict, description="Exact dollars per role (plan, execute, "
                                                                     "review, ...), as text.")
    interrupted: bool = Field(default=False, description="The eval was stopped (a signal) while this run's agent "
                              "was working: not a result (the run runs again on resume), but what its calls "
                              "cost, read from its transcript, is part of the eval's spend.")

    @field_validator("cost_usd_exact")
    @classmethod
    def _dollars(cls, value: str) -> str:
        try:
            usd = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not an amount of dollars: {value!r}") from None
        if not usd.is_finite() or usd < 0:
            raise ValueError(f"not an amount of dollars: {value!r}")
        return value

    @property
    def key(self) -> RunKey:
        return RunKey(self.task, self.config, self.repeat)

    @property
    def cost(self) -> Decimal:
        return Decimal(self.cost_usd_exact)


class ResultsFile:
    """The results of one output directory: read once, then appended to line by line (thread-safe)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / RESULTS_FILE
        self._lock = threading.Lock()

    def create(self, *, check: bool = True) -> str | None:
        """Make the (empty) file if there is none yet, check every line of it, and drop a torn last line (an
        eval killed mid-write; returns a note saying so) so the next row starts on a line of its own.
        ConfigError (exit 2, before any run is paid for) when a line is not a result (naming the file and line:
        the user's file is left as it was; `check=False` for a file about to be replaced whole), or the output
        directory or the file cannot be made or written."""
        where = self.path.parent
        try:
            where.mkdir(parents=True, exist_ok=True)
            (where / "runs").mkdir(exist_ok=True)
            self.path.touch(exist_ok=True)
            if check:
                read_rows(self.path)  # a bad line is refused now, not after a run has been paid for
            return _drop_torn_tail(self.path)
        except (FileExistsError, NotADirectoryError):
            raise ConfigError(f"--out {where}: not a directory (or a file is in the way)") from None
        except IsADirectoryError:
            raise ConfigError(f"--out {where}: {RESULTS_FILE} is a directory") from None
        except OSError as exc:
            raise ConfigError(f"--out {where}: cannot write there ({exc.strerror or exc})") from None

    def read(self) -> list[EvalRow]:
        return read_rows(self.path)

    def append(self, row: EvalRow) -> None:
        """Write one line and sync it to disk before returning: a run reported done is a run kept."""
        line = row.model_dump_json() + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def rewrite(self, rows: list[EvalRow]) -> None:
        """Replace the file whole (for merge): written beside it, then renamed over it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with temp.open("w", encoding="utf-8") as handle:
            handle.writelines(row.model_dump_json() + "\n" for row in rows)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)


def read_rows(path: Path) -> list[EvalRow]:
    """Every complete row of a results file. A torn last line (no newline after it: the eval was killed
    mid-write) is skipped: that run simply runs again. Any other bad line (garbage, a complete line that is not
    a row, wrong types) means the file is not what `agent eval` wrote: ConfigError naming file and line."""
    if not path.is_file():
        return []
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    # Line by line, so a line torn inside a multi-byte character spoils only itself.
    lines = [line.decode("utf-8", errors="replace") for line in data.split(b"\n")]
    torn = bool(lines) and lines[-1] != ""  # the last line has no newline after it
    if not torn and lines:
        lines.pop()
    rows: list[EvalRow] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(EvalRow.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError, RecursionError) as exc:
            if torn and number == len(lines):
                break
            why = "not JSON" if isinstance(exc, json.JSONDecodeError | RecursionError) else _first_error(exc)
            raise ConfigError(f"{path}:{number}: not a result line of `agent eval` ({why}); fix or remove "
                              "that line, or use another --out") from None
    return rows


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the line"
    return f"{where}: {first['msg']}"


def _drop_torn_tail(path: Path) -> str | None:
    """Cut the file back to the end of its last complete line; a note when something was cut."""
    with path.open("r+b") as handle:
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return None
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    line = data.count(b"\n") + 1
    return (f"{path}:{line}: a torn last line ({len(data) - keep} bytes, an eval killed while writing it) was "
            "dropped; that run runs again")


def unique_rows(rows: list[EvalRow]) -> list[EvalRow]:
    """The results: each finished run's key once (the first seen wins), sorted by key; interrupted runs are not
    results (see `interrupted_rows`)."""
    kept: dict[RunKey, EvalRow] = {}
    for row in rows:
        if not row.interrupted:
            kept.setdefault(row.key, row)
    return [kept[key] for key in sorted(kept)]


def interrupted_rows(rows: list[EvalRow]) -> list[EvalRow]:
    """The runs a stop cut short, each session once (a merge may see one twice): their spend, not results."""
    kept: dict[tuple[RunKey, str], EvalRow] = {}
    for row in rows:
        if row.interrupted:
            kept.setdefault((row.key, row.session_id), row)
    return [kept[k] for k in sorted(kept)]


def total_spend(rows: list[EvalRow]) -> Decimal:
    """Every dollar the eval's runs spent: the results and the interrupted runs."""
    return sum((row.cost for row in [*unique_rows(rows), *interrupted_rows(rows)]), Decimal(0))
