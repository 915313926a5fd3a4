"""Running the installed `agent` command as a user or CI would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from agent.cli.demo import copy_repo
from tests.conftest import GIT_ENV, TEST_KEY

FAST_RETRIES = "[retry]\nbackoff_base_s = 0.05\nbackoff_cap_s = 0.2\nmax_retries = 3\n"


def agent_bin() -> str:
    """The `agent` installed beside the running python, so `.venv/bin/python -m pytest` works unactivated."""
    beside = Path(sys.executable).parent / "agent"
    path = str(beside) if beside.is_file() else shutil.which("agent")
    assert path, "the `agent` command is not installed (pip install -e '.[dev]')"
    return path


def base_env() -> dict[str, str]:
    """The environment for a child `agent`: the test interpreter's bin directory first on PATH, so the
    commands it runs (`python -m pytest` in a sample repository, `rg`) come from the same environment."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def sample(name: str, tmp_path: Path) -> Path:
    """A committed copy of a sample repository, configured for fast retries."""
    workspace = copy_repo(name, tmp_path)
    (workspace / ".duet").mkdir(exist_ok=True)
    (workspace / ".duet/config.toml").write_text(FAST_RETRIES)
    return workspace


def agent_env(base_url: str | None = None, *, key: bool = True, git_identity: bool = True,
              env_extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a child `agent` gets: the test's, without the machine's keys and endpoints."""
    env = {k: v for k, v in base_env().items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    if git_identity:
        env.update(GIT_ENV)
    else:
        env = {k: v for k, v in env.items() if k not in GIT_ENV and k not in ("EMAIL",)}
    env.update(env_extra or {})
    if base_url:
        env.update(DEEPSEEK_BASE_URL=base_url, OPENAI_BASE_URL=base_url)
    if key:
        env.update(DEEPSEEK_API_KEY=TEST_KEY, OPENAI_API_KEY=TEST_KEY)
    return env


def run_agent(args: list[str], cwd: Path, base_url: str | None = None, *, stdin: str | None = None,
              key: bool = True, timeout: float = 120, git_identity: bool = True,
              env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `agent` as a child process: for what only a real process shows (the console script, exit
    status, signals, pipes, what a new interpreter imports)."""
    env = agent_env(base_url, key=key, git_identity=git_identity, env_extra=env_extra)
    return subprocess.run([agent_bin(), *args], cwd=cwd, env=env, input=stdin if stdin is not None else "",
                          capture_output=True, text=True, timeout=timeout)


class _CliTimeout(BaseException):
    """Raised by run_cli's alarm: a BaseException, so the CLI's own `except Exception` cannot swallow it."""


def run_cli(args: list[str], cwd: Path, base_url: str | None = None, *, stdin: str | None = None,
            key: bool = True, timeout: float = 120, git_identity: bool = True,
            env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`run_agent`, in this process: the CLI's entry function (`agent.cli.main.main`) with the same arguments,
    working directory, environment and stdin, its stdout and stderr captured, its exit code returned. Saves a
    new interpreter per call (about a second on this machine); for tests of what the CLI does, not of the
    process around it. Past `timeout` seconds a SIGALRM ends the call with `subprocess.TimeoutExpired`, as
    `subprocess.run` would: a hang fails the test instead of stalling the suite. With DUET_TEST_CLI=subprocess
    in the environment every such call runs the installed `agent` instead (`run_agent`), end to end."""
    if os.environ.get("DUET_TEST_CLI") == "subprocess":
        return run_agent(args, cwd, base_url, stdin=stdin, key=key, timeout=timeout, git_identity=git_identity,
                         env_extra=env_extra)
    import contextlib
    import io

    from agent.cli.main import main

    def expire(signum: int, frame: object) -> None:
        raise _CliTimeout

    env = agent_env(base_url, key=key, git_identity=git_identity, env_extra=env_extra)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_stdin = sys.stdin
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin = io.StringIO(stdin or "")
    previous_alarm = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse and `--help` exit; the console script turns this into a status
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if exc.code is not None and not isinstance(exc.code, int):
                    print(exc.code, file=sys.stderr)
    except _CliTimeout:
        raise subprocess.TimeoutExpired([agent_bin(), *args], timeout, out.getvalue(), err.getvalue()) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_alarm)
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess([agent_bin(), *args], code, out.getvalue(), err.getvalue())


def schema_for(name: str) -> dict:
    """The committed JSON Schema of the headless output, pointed at one of its definitions."""
    import agent

    schema = json.loads((Path(agent.__file__).parent / "result.schema.json").read_text())
    return {"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]}


def validated(data: dict, name: str) -> dict:
    import jsonschema

    jsonschema.validate(data, schema_for(name))
    return data


def summary(result: subprocess.CompletedProcess[str]) -> dict:
    """The one result object `--output json` prints, validated against the schema."""
    return validated(json.loads(result.stdout), "RunResult")


def stream_events(result: subprocess.CompletedProcess[str]) -> list[dict]:
    """The lines of `--output stream-json`, each validated: init first (when the run started), result last."""
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines, result.stderr
    validated(lines[-1], "RunResult")
    if len(lines) > 1:
        validated(lines[0], "SystemInit")
    for line in lines[1:-1]:
        validated(line, "StreamLine")
    assert len({line["session_id"] for line in lines}) == 1
    return lines


def start_run_until_tool(cwd: Path, base_url: str) -> subprocess.Popen[str]:
    """`agent run` with stream-json output, returned once its first tool call has started (so a signal sent now
    lands while a command runs). SIGINT is reset to its default in the child: a suite started in the background
    inherits it ignored, and Python then never turns Ctrl+C into KeyboardInterrupt."""
    env = dict(base_env(), DEEPSEEK_API_KEY=TEST_KEY, DEEPSEEK_BASE_URL=base_url)
    proc = subprocess.Popen([agent_bin(), "run", "wait", "--approval", "full-auto", "--output", "stream-json"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"tool.started"' in line:
            break
    return proc
