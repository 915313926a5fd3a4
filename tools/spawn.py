"""How tools start processes for the model: a launcher given in the ToolContext.

The agent hands tools a sandboxing launcher (agent/sandbox); tools only know this protocol. `PlainLauncher` is
the unconfined default for a ToolContext built without one.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tools.secret_files import SECRET_ENV_NAME

QUIET_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "DEBIAN_FRONTEND": "noninteractive"}


class CommandProcess(Protocol):
    """A started command as tools use it: asyncio's process, or the sandbox's handle on a namespace's init."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...

    async def communicate(self, input: bytes | None = None) -> tuple[bytes | None, bytes | None]: ...


class Launcher(Protocol):
    """Starts the processes Duet runs for the model, and removes whatever they leave behind."""

    @property
    def confines(self) -> bool:
        """True when the OS confines started processes (so a read-only run may still run commands)."""
        ...

    @property
    def network(self) -> bool:
        """Whether started processes (and tools acting for the model) may reach the network."""
        ...

    @property
    def scratch(self) -> Path | None:
        """A directory started processes may always write (the run's private temp dir), or None."""
        ...

    async def start(self, argv: Sequence[str], *, cwd: Path, stdout: int, stderr: int,
                    connect_ports: tuple[int, ...] = ()) -> CommandProcess:
        """Start `argv` in its own process group with stdin closed (`connect_ports`: reachable TCP ports)."""
        ...

    def finish(self, proc: CommandProcess) -> None:
        """Kill every process the command started that is still alive (its group, daemons that left it)."""
        ...

    def note(self, output: str) -> str:
        """One line explaining a refusal by the sandbox seen in `output`, or ''."""
        ...


def plain_env() -> dict[str, str]:
    """The environment of commands: ours without secret-named variables, and no pagers or prompts."""
    env = {k: v for k, v in os.environ.items() if not SECRET_ENV_NAME.search(k)}
    env.update(QUIET_ENV)
    return env


class PlainLauncher:
    """No confinement: a process group, a clean environment, and the group killed afterwards."""

    confines = False
    network = True
    scratch = None

    async def start(self, argv: Sequence[str], *, cwd: Path, stdout: int, stderr: int,
                    connect_ports: tuple[int, ...] = ()) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=plain_env(),
            start_new_session=True)

    def finish(self, proc: CommandProcess) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def note(self, output: str) -> str:
        return ""
