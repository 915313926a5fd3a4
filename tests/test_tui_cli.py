"""`agent [PROMPT] [options]` on the command line: the prompt and the subcommands side by side, the TUI's settings
from flags, and (in a real pseudo-terminal) a first prompt run in full-auto, the goodbye lines, and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pexpect
import pytest

from agent.cli.main import UsageExit, build_parser, split_prompt
from agent.transcript import sessions_dir
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent, sample
from tests.helpers import trust_project
from tests.test_tui_pty import ANSI, screen_until, spawn


def parse(*argv: str):  # type: ignore[no-untyped-def]
    parser = build_parser()
    rest, prompt = split_prompt(list(argv), parser)
    args = parser.parse_args(rest)
    args.prompt = prompt
    return args


def test_a_first_word_that_is_no_command_is_the_prompt() -> None:
    args = parse("fix the tests")
    assert args.command is None and args.prompt == "fix the tests"
    args = parse("--approval", "full-auto", "fix the tests", "--model", "gpt-5.5", "--max-cost", "2")
    assert (args.prompt, args.approval, args.model, args.max_cost) == ("fix the tests", "full-auto", "gpt-5.5", 2.0)
    args = parse("--model", "gpt-5.5")
    assert args.command is None and args.prompt is None and args.model == "gpt-5.5"
    args = parse("-C", "run", "--image", "a.png", "--sandbox", "off", "--route", "cheap", "look")
    assert (args.workspace, args.image, args.sandbox, args.route, args.prompt) == ("run", ["a.png"], "off",
                                                                                    "cheap", "look")
    args = parse("--", "run")  # a prompt that is a command's name
    assert args.command is None and args.prompt == "run"


def test_command_names_still_mean_their_command(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("run", "fix the tests", "--model", "gpt-5.5")
    assert args.command == "run" and args.task == "fix the tests" and args.model == "gpt-5.5"
    args = parse("resume", "--last", "--approval", "full-auto", "--model", "gpt-5.5")
    assert args.command == "resume" and args.approval == "full-auto" and args.model == "gpt-5.5"
    for argv, said in ((["fix", "the", "tests"], "one quoted argument"),
                       (["--model", "gpt-5.5", "run", "x"], "options go after the command: agent run --model"),
                       (["--approval", "sometimes"], "invalid choice: 'sometimes'")):
        with pytest.raises(UsageExit):
            parse(*argv)
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1


def test_bad_flags_and_no_terminal_are_one_line_errors(tmp_path: Path) -> None:
    result = run_agent(["--frobnicate"], tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "unrecognized arguments: --frobnicate" in result.stderr
    result = run_agent(["fix the tests"], tmp_path)  # stdin and stdout are pipes here
    assert result.returncode == 2 and result.stderr == "agent: the TUI needs a terminal; for scripts use: " \
                                                       "agent run \"...\"\n"


def _workspace(tmp_path: Path) -> Path:
    workspace = sample("py_calc", tmp_path)
    trust_project(workspace)
    return workspace


def test_first_prompt_in_full_auto_then_goodbye_with_resume_hint(tmp_path: Path, fake_api) -> None:
    workspace = _workspace(tmp_path)
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "calc.py"}),
                                        ScriptedCall(name="edit_file", arguments={
                                            "path": "calc.py", "old_string": "return a - b",
                                            "new_string": "return a + b"})]),
                       Turn(content="Fixed add() without asking.")])
    child = spawn(["fix the add function", "--approval", "full-auto", "--model", "deepseek-v4-pro"], workspace,
                  server.base_url)
    try:
        seen = screen_until(child, r"Fixed add\(\) without asking")
        assert "Allow edit_file" not in seen and "approval: full-auto" in seen
        assert "return a + b" in (workspace / "calc.py").read_text()
        child.send("/quit\r")
        child.expect(pexpect.EOF, timeout=15)
        tail = ANSI.sub("", child.before)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    session_id = tail.rsplit("agent resume ", 1)[1].split()[0]
    assert f"session {session_id}: spent $" in tail
    assert (sessions_dir(workspace) / f"{session_id}.jsonl").is_file()
    assert server.requests[0]["model"] == "deepseek-v4-pro" and server.violations == []


def _alive(marker: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                return True
        except OSError:
            continue
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_kills_the_command_writes_run_finished_and_exits_128_plus(
        tmp_path: Path, fake_api, signum: signal.Signals) -> None:
    workspace = _workspace(tmp_path)
    marker = f"sleep 307{int(signum)}"
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": marker})])])
    child = spawn(["wait for it", "--approval", "full-auto"], workspace, server.base_url)
    try:
        screen_until(child, marker)
        screen_until(child, r"working")
        child.kill(signum)
        child.expect(pexpect.EOF, timeout=15)
        tail = ANSI.sub("", child.before)
    finally:
        child.close(force=True)
    assert child.exitstatus == 128 + int(signum) and not _alive(marker)
    transcript = next(sessions_dir(workspace).glob("*.jsonl"))
    last = json.loads(transcript.read_text().splitlines()[-1])
    assert last["type"] == "run.finished" and last["exit_code"] == 128 + int(signum)
    assert last["message"] == f"stopped by {signal.Signals(signum).name}"
    assert "agent resume" in tail and "Traceback" not in tail
