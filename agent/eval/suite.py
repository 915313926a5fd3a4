"""The suite file (`agent eval SUITE.toml`): the tasks an eval runs, with every path relative to the file.

A bad suite is the user's to fix: `load_suite` raises one `ConfigError` line (exit 2) naming the file and the
field, never a pydantic dump.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import ConfigError
from agent.tomlfile import read_toml

TaskKind = Literal["fix-tests", "run"]


class EvalTask(BaseModel):
    """One `[[task]]` of a suite, as written (paths still relative to the suite file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Unique within the suite; names the task in results and reports.")
    repo: str = Field(description="Directory (git repository or not) copied afresh for every run.")
    kind: TaskKind = "fix-tests"
    prompt: str | None = Field(default=None, description="The task for kind = \"run\".")
    test_cmd: str | None = Field(default=None, description="fix-tests: the test command (detected otherwise).")
    check: str | None = Field(default=None, description="Success is this command exiting 0 after the run "
                                                        "(default for fix-tests: the test command).")
    setup: str | None = Field(default=None, description="Run in the copy before the agent, outside the budget.")
    images: list[str] = Field(default_factory=list, description="Images attached to the task.")
    tags: list[str] = Field(default_factory=list)
    max_cost: float | None = Field(default=None, gt=0, description="Budget in dollars for each run of this task.")
    timeout: float | None = Field(default=None, gt=0, description="Wall-clock limit in seconds for each run.")

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if any(c in value for c in "/\\\n\t") or value.strip() != value:
            raise ValueError("must be a plain name (no slashes, no surrounding spaces)")
        return value

    @model_validator(mode="after")
    def _prompt_matches_kind(self) -> EvalTask:
        if self.kind == "run" and not (self.prompt or "").strip():
            raise ValueError('kind = "run" needs a prompt')
        if self.kind == "run" and not self.check:
            raise ValueError('kind = "run" needs a check command (what counts as success)')
        if self.kind == "fix-tests" and self.prompt:
            raise ValueError('prompt is for kind = "run" (fix-tests takes its task from the failing tests)')
        return self


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mcp: bool = Field(default=False, description="Asks for the user's MCP servers in the runs: only `agent eval "
                                                 "--mcp` starts them (the user's choice, not the suite's).")
    tags: dict[str, str] = Field(default_factory=dict, description="What each tag means: the choices of "
                                 "`--route auto`'s classification, copied into the routing policy.")
    task: list[EvalTask] = Field(min_length=1)


class Suite(BaseModel):
    """A loaded suite: its tasks and the directory its relative paths start from."""

    model_config = ConfigDict(frozen=True)

    path: Path
    tasks: list[EvalTask]
    tags: dict[str, str] = Field(default_factory=dict)
    """Descriptions of the tags (`[tags]`), for the routing policy."""
    mcp: bool = False
    """The suite asked for the user's MCP servers (they start only with `agent eval --mcp`)."""

    @property
    def root(self) -> Path:
        return self.path.parent

    def repo_of(self, task: EvalTask) -> Path:
        """The task's repository, resolved; ConfigError if it is not inside the suite's directory."""
        return self.inside(task.repo, f"task {task.id!r}: repo")

    def images_of(self, task: EvalTask) -> list[Path]:
        return [self.inside(image, f"task {task.id!r}: image") for image in task.images]

    def inside(self, raw: str, what: str) -> Path:
        """`raw` (as written in the suite) resolved inside the suite's directory, links followed, or one
        ConfigError line: a suite names what it ships, never the user's other files (HOME's credential stores)."""
        where = f"suite {self.path}: {what} {raw!r}"
        if not raw or "\0" in raw or Path(raw).is_absolute() or raw.startswith("~"):
            raise ConfigError(f"{where} must be a path relative to the suite's directory")
        if ".." in Path(raw).parts:
            raise ConfigError(f"{where} may not use '..' (it must be inside the suite's directory)")
        root = Path(os.path.realpath(self.root))
        real = Path(os.path.realpath(root / raw))
        if real != root and root not in real.parents:
            raise ConfigError(f"{where} leads outside the suite's directory (to {real}) through a symlink")
        home = os.environ.get("HOME")
        if home and real in (Path(os.path.realpath(home)), *Path(os.path.realpath(home)).parents):
            raise ConfigError(f"{where} is your home directory (or holds it): put the suite beside its tasks")
        return real

    def task(self, task_id: str) -> EvalTask:
        return next(t for t in self.tasks if t.id == task_id)


def load_suite(path: Path) -> Suite:
    """Read and check a suite file: valid TOML, known fields only, unique ids, every path present."""
    path = path.resolve()
    data = read_toml(path, "suite")
    try:
        parsed = SuiteFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"suite {path}: {_first_error(exc, data)}") from None
    tasks = parsed.task
    suite = Suite(path=path, tasks=tasks, mcp=parsed.mcp, tags=parsed.tags)
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise ConfigError(f"suite {path}: task id {task.id!r} is used twice (ids must be unique)")
        seen.add(task.id)
        if not suite.repo_of(task).is_dir():  # (repo_of refuses a path outside the suite's directory)
            raise ConfigError(f"suite {path}: task {task.id!r}: repo {task.repo!r} is not a directory "
                              f"(paths are relative to the suite file)")
        for raw, image in zip(task.images, suite.images_of(task), strict=True):
            if not image.is_file():
                raise ConfigError(f"suite {path}: task {task.id!r}: image {raw!r} is not a file")
    return suite


def _first_error(exc: ValidationError, data: object) -> str:
    """The first problem, named by task id where there is one: `task 'x': field: message`."""
    error = exc.errors()[0]
    where = list(error["loc"])
    name = ""
    if len(where) >= 2 and where[0] == "task" and isinstance(where[1], int) and isinstance(data, dict):
        entry = (data.get("task") or [None])[where[1]] if where[1] < len(data.get("task") or []) else None
        ident = entry.get("id") if isinstance(entry, dict) else None
        name = f"task {ident!r}: " if ident else f"task #{where[1] + 1}: "
        where = where[2:]
    field = ".".join(str(p) for p in where)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{name}{field}: {message}" if field else f"{name}{message}"
