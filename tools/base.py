"""The contract every tool follows: pydantic arguments in, a ToolResult out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from tools.effects import Effect, Read, Write
from tools.secret_files import SecretFiles
from tools.writeguard import ProcessGuard, WriteGuard

if TYPE_CHECKING:
    from tools.spawn import Launcher


class ToolArgs(BaseModel):
    """Base of every tool's argument model: unknown arguments are an error the model sees."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Literal["created", "modified", "deleted"]
    diff: str


@dataclass
class ToolResult:
    ok: bool
    output: str
    changes: list[FileChange] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


class ToolError(Exception):
    """A failure the model can fix: reported to it as the tool's result."""


@dataclass(frozen=True)
class Preview:
    """What a call would do, for the person approving it: the unified diff of the bytes it would write, the full
    command and where it runs, or the target of another tool. `basis`: for a diff, (path, digest of the bytes
    before, digest of the bytes after) of every file, so the run can refuse when the file changed since."""

    kind: Literal["diff", "command", "text"]
    text: str
    cwd: str = ""
    basis: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class FileStamp:
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class ToolContext:
    """What a tool may touch and how: an immutable environment, built by the agent for one session."""

    root: Path
    start_dir: Path | None = None
    """Where `shell` commands start: the user's directory when it lies inside the workspace (None: the root)."""
    shell_timeout_s: float = 120.0
    secret_files: SecretFiles = field(default_factory=SecretFiles)
    """Which files no tool reads or shows (the built-in list plus the config's `secret_files`)."""
    read_stamps: dict[Path, FileStamp] = field(default_factory=dict)
    before_change: Callable[[list[Path]], None] = field(default=lambda _paths: None)
    """Called with absolute paths just before a tool changes them (checkpoints hook in here)."""
    write_guard: WriteGuard = field(default_factory=ProcessGuard)
    """Every file write passes through it (tools.writeguard): the workspace's edit lock and the checkpoint's record."""
    vision: Callable[[str, str], Awaitable[str]] | None = None
    """Asks an image-capable model a question about an image (a data: URL); returns its answer."""
    redact: Callable[[str], str] = field(default=lambda text: text)
    """Removes known secret values from text (the session's redactor): tools apply it before cutting output, so a
    value straddling the cut cannot leave half of itself behind."""
    launcher: Launcher | None = None
    """Starts the processes tools run for the model (the sandbox); None: unconfined (tools.spawn.PlainLauncher)."""


class Tool:
    """One callable tool. Subclasses set the class attributes and implement `run`."""

    name: str
    Args: ClassVar[type[ToolArgs]]
    mutates: ClassVar[bool] = False
    """The effect of a tool that does not declare one per call (`effect`): Write() when True, else Read()."""
    runs_in_thread: ClassVar[bool] = False
    """True when `run` does blocking work (files, parsing, a Python search) and needs nothing of the agent's event
    loop: the agent then runs it in a worker thread with its own loop. False (the default) for a tool that awaits
    the agent's loop (its processes, the vision model, an MCP session)."""
    parallel_safe: bool = False
    """True for a call that only looks (reads, searches, listings, symbol look-ups): the calls of one answer that
    are all parallel-safe run at once, their results still answered in the order they were asked. Anything that
    changes the workspace or talks to the outside stays one at a time."""
    preapproved: bool = False
    """The user's config lets this tool run without asking (outside read-only mode): an allow-listed MCP tool."""

    def effect(self, args: Any, ctx: ToolContext) -> Effect:
        """What this call does (tools.effects): decided from its arguments alone, without touching anything."""
        return Write() if self.mutates else Read()

    def available(self, ctx: ToolContext) -> bool:
        """Whether this tool can work here (a screenshot needs a browser): an unavailable tool is not offered."""
        return True

    def unavailable_reason(self) -> str:
        """What the model reads when it calls this tool where it is not available."""
        return f"{self.name} is not available in this session"

    def preview(self, args: Any, ctx: ToolContext) -> Preview | None:
        """The dry run shown for approval: exactly what `apply` would do, computed by the same code, changing
        nothing; ToolError when the call cannot work (refused before anyone is asked). None: the summary says it."""
        return None

    async def apply(self, args: Any, ctx: ToolContext, previewed: Preview | None) -> ToolResult:
        """Run the call after its `previewed` dry run was approved (None: no one was asked): a tool that previews
        refuses, changing nothing, when what it would do now is not what was previewed."""
        return await self.run(args, ctx)

    def input_schema(self) -> dict[str, Any] | None:
        """The wire JSON schema of the arguments when it does not come from `Args` (a tool adapted from
        elsewhere, e.g. an MCP server's); None: generated from `Args`."""
        return None

    def parse_arguments(self, data: dict[str, Any]) -> Any:
        """The validated arguments (pydantic's ValidationError, or ToolError with a message for the model)."""
        return self.Args.model_validate(data)

    def approval_summary(self, args: Any) -> str:
        """The one line the user reads when asked to approve this call."""
        return f"{self.name} {getattr(args, 'path', '')}".strip()

    @property
    def description(self) -> str:
        """What the model reads about this tool: prompts/tool_<name>.md."""
        from prompts import render  # prompts are data; imported on use, never at import time

        return render(f"tool_{self.name}")

    async def run(self, args: Any, ctx: ToolContext) -> ToolResult:
        raise NotImplementedError
