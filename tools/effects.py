"""What one tool call does to the world, declared by the tool per call: the approval gate, the scheduler and the
event stream decide from this, never from a tool's name."""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Read:
    """Only looks: reads, searches, listings, symbol look-ups, a question to the vision model."""


@dataclass(frozen=True)
class Write:
    """Changes the named workspace files (relative paths), and nothing else."""

    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exec:
    """Runs a process (`argv` in `cwd`), which may change anything the sandbox lets it."""

    argv: tuple[str, ...]
    cwd: str

    @property
    def command(self) -> str:
        """The command line as the user reads it: the script of `bash -c script`, else the argv quoted."""
        if len(self.argv) == 3 and self.argv[1] == "-c":
            return self.argv[2]
        return shlex.join(self.argv)


@dataclass(frozen=True)
class External:
    """Talks to something outside the workspace and the sandbox (an MCP server): its effects are unknown."""

    server: str


Effect = Read | Write | Exec | External
