"""One eval run: a fresh copy of the task's repository, its setup, a whole headless `agent` process with
`--output json` and full-auto approval inside that copy, then the task's check. The suite's own directories are
only ever read.

A run that could not be carried out (setup failed, the agent printed no result, a configuration error) raises
`HarnessError`: it is not a result, and a later eval runs it again.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from agent import __version__
from agent.errors import ConfigError
from agent.eval.confined import CommandSandbox, Interrupted, run_confined
from agent.eval.copying import copy_repo
from agent.eval.plan import EvalConfig, RunKey
from agent.eval.results import EvalRow
from agent.eval.suite import EvalTask, Suite
from agent.gitsafe import git_binary, git_config_args, git_env
from agent.result import RunResult
from agent.testcmd import detect_test_command
from tools.secret_files import SecretFiles

CHECK_TIMEOUT_S = 900.0
AGENT_GRACE_S = 60.0
CHECK_TAIL_CHARS = 2000
CONFIG_ERROR_EXIT = 2
# The copy is committed as found, so checkpoints and undo inside the run behave as in a user's repository.
GIT_IDENTITY = ["-c", "user.name=duet-eval", "-c", "user.email=eval@localhost", "-c", "commit.gpgsign=false"]


class HarnessError(Exception):
    """The harness could not carry out a run (not a verdict on the model). `fatal`: no run can succeed either
    (the agent refused its configuration: a missing key, an unknown model), so the eval starts no more."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class InterruptedRun(Interrupted):
    """The eval stopped while this run's agent worked: `row` keeps what its calls cost (from its transcript)."""

    def __init__(self, row: EvalRow) -> None:
        super().__init__()
        self.row = row


class Children:
    """The processes the eval has running, each in its own session, so a stop reaches their whole trees."""

    def __init__(self) -> None:
        self._pids: set[int] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.spawning = threading.Lock()
        """Held while a process is started and tracked, and while a finished command's leftovers are reaped: a
        reap kills this process's untracked sandboxed children, which must not include another run's command."""

    def add(self, pid: int) -> None:
        """Track a process (the leader of its own group); signalled at once if the eval is already stopping."""
        with self._lock:
            self._pids.add(pid)
        if self.stopping.is_set():  # the stop came between the caller's check and the registration
            _signal_group(pid, signal.SIGTERM)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)

    def pids(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._pids)

    def run(self, argv: list[str] | str, *, cwd: Path, env: dict[str, str], timeout: float | None = None,
            shell: bool = False) -> subprocess.CompletedProcess[str]:
        """Run to completion; `Interrupted` if the eval stops meanwhile."""
        if self.stopping.is_set():
            raise Interrupted
        with self.spawning:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, shell=shell, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                                    start_new_session=True)
            self.add(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            err += f"\n(stopped after {timeout:g} s)"
        finally:
            self.discard(proc.pid)
        if self.stopping.is_set():
            raise Interrupted
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop starting work and pass the signal on to every running process group."""
        self.stopping.set()
        for pid in self.pids():
            _signal_group(pid, signum)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass(frozen=True)
class RunSettings:
    """What every run of one eval shares."""

    suite: Suite
    out_dir: Path
    env: dict[str, str]
    sandbox: str | None = None
    commands: CommandSandbox | None = None
    """How setup and check are confined; None: the user's configuration as loaded from `env`."""
    setup_network: bool = False
    """`agent eval --setup-network`: setup commands may connect (the user's choice, never the suite's)."""
    mcp: bool = False
    """`agent eval --mcp`: runs start the user's MCP servers (the user's choice, never the suite's)."""
    routing: Path | None = None
    """`agent eval --routing FILE`: the policy the `auto` configuration's runs follow."""
    agent_argv: list[str] = field(default_factory=lambda: [sys.executable, "-m", "agent.cli.main"])


def agent_command(settings: RunSettings, task: EvalTask, config: EvalConfig, copy: Path) -> list[str]:
    """The `agent` command line for one run of `task` under `config`, working in `copy`."""
    argv = [*settings.agent_argv]
    if task.kind == "run":
        argv += ["run", task.prompt or ""]
    else:
        argv += ["fix-tests", *(["--test-cmd", task.test_cmd] if task.test_cmd else [])]
    argv += ["--output", "json", "--approval", "full-auto", "-C", str(copy), *config.agent_flags()]
    if config.route == "auto":  # the policy under test, told the task's kind as an eval task states it
        argv += [*(["--routing", str(settings.routing)] if settings.routing else []),
                 *(arg for tag in task.tags for arg in ("--tag", tag))]
    if task.max_cost is not None:
        argv += ["--max-cost", repr(task.max_cost)]
    if task.timeout is not None:
        argv += ["--timeout", repr(task.timeout)]
    if settings.sandbox:
        argv += ["--sandbox", settings.sandbox]
    if not settings.mcp:  # the user's servers live outside the copy and the sandbox; full-auto would approve them
        argv.append("--no-mcp")
    for image in settings.suite.images_of(task):
        argv += ["--image", str(image)]
    return argv


def run_one(settings: RunSettings, key: RunKey, config: EvalConfig, children: Children) -> EvalRow:
    """Carry out one run and return its row (HarnessError, Interrupted otherwise)."""
    started = time.monotonic()
    task = settings.suite.task(key.task)
    work = Path(tempfile.mkdtemp(prefix="duet-eval-"))
    try:
        copy = work / "repo"
        commands = settings.commands or command_sandbox(settings.env, settings.sandbox, settings.suite.root)
        try:
            # What a session hides (HOME's credential stores) is left out of the copy too, as are the secret
            # files' contents from every command (the copy is the run's workspace, hidden like any session's).
            copy_notes = copy_repo(settings.suite.repo_of(task), copy, hidden=commands.policy(copy).hidden())
        except ConfigError as exc:  # the suite's directory changed since it was loaded
            raise HarnessError(str(exc)) from None
        except (OSError, shutil.Error) as exc:
            raise HarnessError(f"cannot copy {task.repo}: {exc}") from None
        _commit_copy(copy, settings.env, children, commands.config.secret_file_list())
        if task.setup:
            # The suite's own command, before the model: the network only if the user said so (--setup-network).
            setup = run_confined(children, commands, task.setup, copy=copy, timeout=CHECK_TIMEOUT_S,
                                 network=settings.setup_network)
            if setup.returncode != 0:
                why = commands.redactor(copy)(_last_line(setup.stderr or setup.stdout))
                raise HarnessError(f"setup exited {setup.returncode}: {why}")
        agent_started = time.monotonic()
        # The agent enforces the task's timeout itself; the harness only stops one that outlives it by a margin.
        limit = task.timeout + AGENT_GRACE_S if task.timeout else None
        try:
            done = children.run(agent_command(settings, task, config, copy), cwd=copy, env=settings.env,
                                timeout=limit)
        except Interrupted:  # its calls were paid for: keep their spend before the copy goes
            raise InterruptedRun(_interrupted_row(key, config, task, copy, started)) from None
        agent_ms = _ms_since(agent_started)
        result = _parse_result(done)
        if result.exit_code == CONFIG_ERROR_EXIT:  # misconfigured: not a verdict on the model
            raise _config_error(result.message, copy, settings.suite.repo_of(task))
        check_cmd = _check_command(task, copy)
        check_started = time.monotonic()
        try:
            check = run_confined(children, commands, check_cmd, copy=copy, timeout=CHECK_TIMEOUT_S)
        except Interrupted:  # the agent finished (and was paid for); only its verdict is missing
            raise InterruptedRun(_interrupted_row(key, config, task, copy, started)) from None
        check_ms = _ms_since(check_started)
        redact = commands.redactor(copy)
        check_output = redact(_tail(check.stdout + check.stderr))
        log = "".join(f"note: {note}\n" for note in copy_notes) + _log_text(result, done, check)
        _keep_logs(settings.out_dir, key, copy, redact(log), result.session_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return EvalRow(task=key.task, config=key.config, route=config.route, repeat=key.repeat,
                   passed=check.returncode == 0,
                   exit_code=result.exit_code, subtype=result.subtype, cost_usd=result.total_cost_usd,
                   cost_usd_exact=result.total_usd_exact, models=result.models,
                   unpriced_models=result.unpriced_models, num_turns=result.num_turns,
                   duration_ms=result.duration_ms, agent_wall_ms=agent_ms, check_ms=check_ms,
                   wall_ms=_ms_since(started), session_id=result.session_id, tags=list(task.tags),
                   check_exit_code=check.returncode, check_output=check_output,
                   duet_version=__version__,
                   roles={role: spend.usd_exact for role, spend in result.counterfactual.roles.items()},
                   routed_profile=result.route_choice.profile if result.route_choice else None)


def _interrupted_row(key: RunKey, config: EvalConfig, task: EvalTask, copy: Path, started: float) -> EvalRow:
    """The row of a run stopped mid-way: its spend, summed from the usage records of its transcript."""
    from agent.events import UsageEvent
    from agent.spend.ledger import Ledger
    from agent.spend.rows import spend_rows
    from agent.transcript import TranscriptError, all_sessions, read_transcript

    records, session_id = [], ""
    for path in all_sessions(copy):
        session_id = path.stem
        try:
            records += [e.record for e in read_transcript(path) if isinstance(e, UsageEvent)]
        except (OSError, TranscriptError):
            continue
    ledger = Ledger.of(records)
    usd = ledger.total_usd
    return EvalRow(task=key.task, config=key.config, route=config.route, repeat=key.repeat, passed=False,
                   exit_code=128 + signal.SIGTERM, subtype="interrupted", interrupted=True, cost_usd=float(usd),
                   cost_usd_exact=str(usd), models=spend_rows(ledger.by_model()),
                   unpriced_models=ledger.unpriced_models(), num_turns=0, duration_ms=_ms_since(started),
                   wall_ms=_ms_since(started), session_id=session_id, tags=list(task.tags),
                   duet_version=__version__)


def secret_pathspecs(secret_files: SecretFiles) -> list[str]:
    """Pathspecs leaving every secret file out of `git add` (more, never fewer: a name pattern also excludes
    directories of that name). git's default pathspec `*` crosses `/`, as the list's `fnmatch` does."""
    specs: list[str] = []
    for pattern in secret_files.patterns:
        specs += [f":(exclude,icase){pattern}"] + ([] if "/" in pattern else [f":(exclude,icase)*/{pattern}"])
    return specs


def _commit_copy(copy: Path, env: dict[str, str], children: Children, secret_files: SecretFiles) -> None:
    """The copy as a repository of its own, committed as found but for its secret files: the run's commands can
    read `.git`, and must not find there what the sandbox hides in the work tree."""
    dot_git = copy / ".git"
    if dot_git.is_dir() and not dot_git.is_symlink():
        return  # a repository of its own, copied whole
    if dot_git.exists() or dot_git.is_symlink():
        # A worktree's or submodule's `.git` file points at the suite's own repository: the run's checkpoints
        # would be written there. The copy gets a repository of its own instead.
        dot_git.unlink()
    # Duet's own git (resolved outside every writable place, hardened, a clean PATH), as for every git call it makes
    git = [git_binary(copy), *git_config_args()]
    clean = {**env, "PATH": git_env(root=copy)["PATH"]}
    for argv in ([*git, "init", "-q"], [*git, "add", "-A", "--", ".", *secret_pathspecs(secret_files)],
                 [*git, *GIT_IDENTITY, "commit", "-q", "--allow-empty", "--no-verify", "-m", "eval: task as given"]):
        try:
            done = children.run(argv, cwd=copy, env=clean)
        except FileNotFoundError:
            raise HarnessError("git is not installed (each run's copy is made a git repository)") from None
        if done.returncode != 0:
            raise HarnessError(f"git {argv[len(git)]} failed in the copy: {_last_line(done.stderr)}")


def _config_error(message: str, copy: Path, repo: Path) -> HarnessError:
    """The agent refused its configuration. When the file it names is inside the copy (the task repository's own
    `.duet/config.toml`), only this task's runs can fail so; otherwise (a key, a model name) no run can succeed
    and the eval starts no more."""
    places = {str(copy), str(copy.resolve())}
    inside = any(place in message for place in places)
    for place in places:
        message = message.replace(place, str(repo))
    return HarnessError(f"agent: {message}", fatal=not inside)


def _parse_result(done: subprocess.CompletedProcess[str]) -> RunResult:
    try:
        return RunResult.model_validate_json(done.stdout)
    except ValidationError:
        why = _last_line(done.stderr) or "no output"
        raise HarnessError(f"the agent printed no result (exit {done.returncode}): {why}") from None


def _check_command(task: EvalTask, copy: Path) -> str:
    command = task.check or task.test_cmd or detect_test_command(copy)
    if not command:
        raise HarnessError(f"task {task.id!r}: no check and no test command could be detected; set check")
    return command


def command_sandbox(env: dict[str, str], sandbox: str | None, root: Path) -> CommandSandbox:
    """The user's configuration (read as the agent would in `root`, with `--sandbox` applied) for confining
    setup and check commands. ConfigError when it cannot be read."""
    from agent.config import load_config

    overrides = {"sandbox": {"mode": sandbox}} if sandbox else None
    return CommandSandbox(load_config(root, overrides, env), env)


def _log_text(result: RunResult, done: subprocess.CompletedProcess[str],
              check: subprocess.CompletedProcess[str]) -> str:
    return (f"$ agent ... (exit {done.returncode})\n{done.stderr}\n{result.model_dump_json(indent=2)}\n\n"
            f"$ check (exit {check.returncode})\n{check.stdout}{check.stderr}")


def _keep_logs(out_dir: Path, key: RunKey, copy: Path, text: str, session_id: str | None) -> None:
    """What a reader needs to see why a run failed (already redacted): the agent's stderr and result, the
    check's output, and the session's transcript (the copy it lived in is deleted)."""
    from agent.transcript import find_session

    logs = out_dir / "runs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = run_stem(key)
    (logs / f"{stem}.log").write_text(text, encoding="utf-8")
    transcript = find_session(copy, session_id) if session_id else None
    if transcript is not None and transcript.is_file():
        shutil.copyfile(transcript, logs / f"{stem}.transcript.jsonl")


def run_stem(key: RunKey) -> str:
    """A file name for a run (model names may hold slashes)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{key.task}.{key.config}.{key.repeat}")


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _tail(text: str) -> str:
    return text[-CHECK_TAIL_CHARS:]
