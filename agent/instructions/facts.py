"""The facts a system prompt states about its session, gathered once so the prompt stays byte-stable.

Each is a small frozen value: tests build them by hand (fixed date, OS, git state) to snapshot the prompt.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Approval
from agent.gitsafe import git_argv, git_env
from agent.sandbox.policy import SandboxInfo

MAX_DIRTY_FILES = 20


@dataclass(frozen=True)
class SandboxFacts:
    """How commands are confined. `mechanism` "none" means only the approval policy stands guard.

    The seam for the OS sandbox: its launcher reports its mechanism, writable roots and network here."""

    mechanism: str = "none"
    writable_roots: tuple[str, ...] = ()
    network: bool = True
    read_only: tuple[str, ...] = ()

    @classmethod
    def from_info(cls, info: SandboxInfo) -> SandboxFacts:
        """The facts of the sandbox a session's launcher reports."""
        if not info.active:
            return cls(mechanism="none", writable_roots=info.writable, network=True)
        return cls(mechanism=info.detail, writable_roots=info.writable, network=info.network,
                   read_only=info.protected)


@dataclass(frozen=True)
class GitFacts:
    """The repository's state at the start of the session (None branch: not a git repository)."""

    branch: str | None = None
    dirty: tuple[str, ...] = ()
    dirty_total: int = 0


@dataclass(frozen=True)
class SessionFacts:
    workspace: str
    cwd: str
    approval: Approval
    os_name: str
    shell: str
    date: str
    git: GitFacts = field(default_factory=GitFacts)
    sandbox: SandboxFacts = field(default_factory=SandboxFacts)


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(git_argv(root, "-C", str(root), *args), capture_output=True, text=True, timeout=10,
                              env=git_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_facts(root: Path) -> GitFacts:
    """Branch and uncommitted files (Duet's own .duet/ left out); an empty value outside a repository."""
    if _git(root, "rev-parse", "--is-inside-work-tree") is None:
        return GitFacts()
    branch = (_git(root, "branch", "--show-current") or "").strip() or "(detached HEAD)"
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".", ":!.duet") or ""
    lines = [line for line in status.splitlines() if line.strip()]
    return GitFacts(branch=branch, dirty=tuple(lines[:MAX_DIRTY_FILES]), dirty_total=len(lines))


def gather(workspace: Path, approval: Approval, *, cwd: Path | None = None,
           sandbox: SandboxFacts | None = None) -> SessionFacts:
    """The facts of a session starting now in `workspace`."""
    here = (cwd or Path.cwd()).resolve()
    root = workspace.resolve()
    inside = here == root or root in here.parents
    return SessionFacts(
        workspace=str(root), cwd=str(here if inside else root), approval=approval,
        os_name=f"{platform.system()} {platform.release()}".strip(),
        shell=os.environ.get("SHELL", "/bin/sh").rsplit("/", 1)[-1],
        date=datetime.date.today().isoformat(), git=git_facts(root),
        sandbox=sandbox or SandboxFacts(writable_roots=(str(root),)))
