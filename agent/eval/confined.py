"""A run's setup and check commands: code the model may have written (the check runs its tests), so they run
like the agent's own commands: through the sandbox launcher confined to the run's copy, without the providers'
API keys or secret-named variables, whatever `--sandbox` says about confinement.

Their output goes to temporary files and the harness waits on the shell itself, not on pipe EOF: a command that
leaves a background service (`server &`) ends when its shell does, and the service is then killed with the rest
of the command's processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from agent.config import Config
from agent.redact import Redactor
from agent.sandbox.launcher import SandboxLauncher, choose_mechanism
from agent.sandbox.policy import SandboxPolicy
from tools.binaries import find_binary


class Interrupted(Exception):
    """The eval is stopping: this run's result, if any, is not kept."""


class Children(Protocol):
    """The eval's running processes, as a confined command needs them (agent.eval.runner.Children)."""

    stopping: threading.Event
    spawning: threading.Lock

    def add(self, pid: int) -> None: ...

    def discard(self, pid: int) -> None: ...

    def pids(self) -> frozenset[int]: ...


@dataclass(frozen=True)
class CommandSandbox:
    """How an eval confines setup and check commands: the user's configuration (sandbox settings, provider key
    variables, secret files), with `--sandbox` applied to it."""

    config: Config
    environ: Mapping[str, str]

    def policy(self, copy: Path, network: bool = False) -> SandboxPolicy:
        """The policy for commands in one run's copy: writable, whatever the configured approval mode. `network`:
        the network even when the configuration keeps commands off it (a setup installing dependencies)."""
        policy = SandboxPolicy.from_config(self.config, copy, self.environ)
        return dataclasses.replace(policy, workspace_writable=True, network=policy.network or network)

    def warning(self, root: Path) -> str | None:
        """One line to say when setup and check commands will run unconfined, else None."""
        mechanism, detail, _ = choose_mechanism(self.policy(root))
        if mechanism == "off":
            return ("eval: sandbox off (by your choice): setup and check commands run with your permissions "
                    "(API keys and secret-named variables are still removed from their environment)")
        if mechanism == "none":
            return (f"eval: no sandbox available ({detail}): setup and check commands run unconfined (API keys "
                    "and secret-named variables are still removed from their environment)")
        return None

    def redactor(self, copy: Path) -> Redactor:
        """What must not reach results.jsonl or the run logs: the environment's secrets and keys, the copy's
        secret files' values."""
        keys = sorted({p.api_key_env for p in self.config.providers.values()})
        return Redactor.for_run(copy, self.config.secret_file_list(), self.environ, keys)


def run_confined(children: Children, sandbox: CommandSandbox, command: str, *, copy: Path, timeout: float,
                 network: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `command` with bash in `copy`, confined to it; `Interrupted` if the eval stops meanwhile."""
    if children.stopping.is_set():
        raise Interrupted
    launcher = SandboxLauncher(sandbox.policy(copy, network), sandbox.environ)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code, note = asyncio.run(_run(launcher, children, command, copy, timeout, out, err))
            stdout, stderr = _read(out), _read(err) + note
    finally:
        launcher.close()
    if children.stopping.is_set():
        raise Interrupted
    return subprocess.CompletedProcess(command, code, stdout, stderr)


async def _run(launcher: SandboxLauncher, children: Children, command: str, cwd: Path, timeout: float,
               out: IO[bytes], err: IO[bytes]) -> tuple[int, str]:
    with children.spawning:
        bash = find_binary("bash", cwd) or "bash"  # never a bash the copy or a temp dir could have planted
        proc = await launcher.start([bash, "-c", command], cwd=cwd, stdout=out.fileno(), stderr=err.fileno())
        children.add(proc.pid)
    note = ""
    try:
        try:
            code = await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            _kill_group(proc.pid)
            code = await proc.wait()
            note = f"\n(stopped after {timeout:g} s)"
    finally:
        with children.spawning:  # what the shell left running (a `server &`) is killed, nothing of other runs
            children.discard(proc.pid)
            launcher.finish(proc, keep=children.pids())
    return code, note


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")
