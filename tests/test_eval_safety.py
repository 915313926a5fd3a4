"""`agent eval` against what a hostile task or model can do: setup and check run confined to the run's copy
without API keys, their output is redacted before it is stored, a background service does not stall a run (real
`agent eval` processes against the fake server)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from agent.config import load_config
from agent.sandbox.landlock import abi_version
from agent.sandbox.launcher import choose_mechanism
from agent.sandbox.policy import SandboxPolicy
from fixtures.fakeapi import FakeAPI, Script, ScriptedCall, Turn
from tests.conftest import TEST_KEY
from tests.e2e import agent_bin
from tests.test_eval import eval_env

MODEL = "deepseek-v4-flash"


def make_suite(tmp_path: Path, task: str, files: dict[str, str] | None = None) -> Path:
    """A one-task suite over a small repository holding `files`."""
    repo = tmp_path / "suite" / "repo"
    for name, text in (files or {"README.md": "hi\n"}).items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    suite = tmp_path / "suite" / "suite.toml"
    suite.write_text('[[task]]\nid = "t"\nrepo = "repo"\n' + task)
    return suite


def run_suite(suite: Path, out: Path, turns: list[Turn], *extra: str,
              timeout: float = 200) -> tuple[subprocess.CompletedProcess[str], FakeAPI]:
    fake = FakeAPI(Script(turns=turns)).start()
    try:
        done = subprocess.run([agent_bin(), "eval", str(suite), "--model", MODEL, "--out", str(out), *extra],
                              env=eval_env(fake.base_url), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    finally:
        fake.stop()
    return done, fake


def sandbox_confines(workspace: Path) -> bool:
    config = load_config(workspace)
    return choose_mechanism(SandboxPolicy.from_config(config, workspace, os.environ))[0] in ("landlock", "bwrap")


def test_the_check_runs_model_written_code_confined_to_the_copy_without_keys(tmp_path: Path) -> None:
    outside = Path(os.environ["HOME"]) / "PWNED"
    payload = (f"import os\nprint('has key:', 'DEEPSEEK_API_KEY' in os.environ)\n"
               f"open({str(outside)!r}, 'w').write('escaped')\n")
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "add a test"\ncheck = "python pwn.py"\n')
    write = Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": "pwn.py", "content": payload})])
    done, _ = run_suite(suite, tmp_path / "out", [write, Turn(content="done")])
    assert done.returncode == 0, done.stderr
    [row] = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert "has key: False" in row["check_output"]  # no provider key in the check's environment
    if sandbox_confines(tmp_path):
        assert not outside.exists() and not row["passed"]  # the write outside the copy was refused
        assert "sandbox" not in done.stderr
    else:
        assert "no sandbox available" in done.stderr


def test_setup_has_the_network_only_with_the_users_flag(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    connect = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 5).close()\n"
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\n'
                       'setup = "(python connect.py && echo yes || echo no) > net.txt"\n'
                       'check = "echo setup connected: $(cat net.txt); python connect.py && echo check connected"\n',
                       {"connect.py": connect})
    try:
        asked, _ = run_suite(suite, tmp_path / "out", [Turn(content="done")], "--setup-network")
        plain, _ = run_suite(suite, tmp_path / "out2", [Turn(content="done")])
    finally:
        listener.close()
    assert asked.returncode == 0 and plain.returncode == 0, asked.stderr + plain.stderr
    [row] = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert "setup connected: yes" in row["check_output"]  # --setup-network: dependencies can be installed
    assert "--setup-network" in plain.stderr and "--setup-network" not in asked.stderr  # one note, when it applies
    if sandbox_confines(tmp_path) and abi_version() >= 4:  # network off by default, for setup and check alike
        assert "check connected" not in row["check_output"] and not row["passed"]
        [row] = [json.loads(line) for line in (tmp_path / "out2" / "results.jsonl").read_text().splitlines()]
        assert "setup connected: no" in row["check_output"]


def test_sandbox_off_still_removes_keys_and_says_so_once(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\nsetup = "env > ../setup-env || true"\n'
                       'check = "echo secret-named: ${MY_SECRET_TOKEN:-absent}; test -z \\"$OPENAI_API_KEY\\""\n')
    fake = FakeAPI(Script(turns=[Turn(content="done")])).start()
    try:
        env = {**eval_env(fake.base_url), "MY_SECRET_TOKEN": "tok-0123456789abcdef"}
        done = subprocess.run([agent_bin(), "eval", str(suite), "--model", MODEL, "--out", str(tmp_path / "out"),
                               "--sandbox", "off"], env=env, capture_output=True, text=True, timeout=200)
    finally:
        fake.stop()
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("sandbox off") == 1
    [row] = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert row["passed"] and "secret-named: absent" in row["check_output"]


def test_check_output_is_redacted_in_results_and_logs(tmp_path: Path) -> None:
    secret = "sk_live_51HxQjZ2eZvKYlo2C9aBcDeFgHiJk"
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "cat .env; echo key=$LEAK; exit 1"\n',
                       {".env": f"STRIPE_SECRET={secret}\n"})
    fake = FakeAPI(Script(turns=[Turn(content="done")])).start()
    try:
        # --sandbox off: the check can read .env; LEAK is not secret-named, so it reaches the check's environment
        env = {**eval_env(fake.base_url), "LEAK": TEST_KEY}
        done = subprocess.run([agent_bin(), "eval", str(suite), "--model", MODEL, "--out", str(tmp_path / "out"),
                               "--sandbox", "off"], env=env, capture_output=True, text=True, timeout=200)
    finally:
        fake.stop()
    assert done.returncode == 0, done.stderr
    stored = [tmp_path / "out" / "results.jsonl", *sorted((tmp_path / "out" / "runs").glob("*.log"))]
    assert len(stored) == 2
    for path in stored:
        text = path.read_text()
        assert "STRIPE_SECRET=" in text and "[REDACTED]" in text, path
        assert secret not in text and TEST_KEY not in text, path


def test_a_setup_that_leaves_a_background_service_neither_stalls_nor_leaks_it(tmp_path: Path) -> None:
    marker = f"{int(time.time() * 1000) % 100000 + 4000}"
    suite = make_suite(tmp_path, f'kind = "run"\nprompt = "hi"\nsetup = "sleep {marker} & echo started"\n'
                       'check = "true"\ntimeout = 60\n')
    # the setup's own limit is 900 s: waiting for the service's pipes would outlast this 120 s
    done, _ = run_suite(suite, tmp_path / "out", [Turn(content="done")], timeout=120)
    assert done.returncode == 0, done.stderr
    left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert left.stdout == ""  # the service was killed with the setup
