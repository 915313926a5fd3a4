"""Sharp edges of the command line: closed pipes, resume's message, commits without an identity, bad counts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import TEST_KEY, git
from tests.e2e import agent_bin, base_env, run_cli, sample, summary

EDIT_CALC = ScriptedCall(name="edit_file", arguments={
    "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"})
READ_CALC = ScriptedCall(name="read_file", arguments={"path": "calc.py"})


@pytest.mark.parametrize("output", ["stream-json", "text"])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, fake_api, output: str) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 0.5"})]),
                       Turn(content="done")])
    env = dict(base_env(), DEEPSEEK_API_KEY=TEST_KEY, DEEPSEEK_BASE_URL=server.base_url)
    proc = subprocess.Popen([agent_bin(), "run", "x", "--approval", "full-auto", "--output", output],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # like `| head -1`: read one line, then go away
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert first.strip()
    assert err == ""
    assert proc.returncode == 141
    from agent.transcript import all_sessions

    (transcript,) = all_sessions(tmp_path)
    assert '"type": "run.finished"' in transcript.read_text().replace('":"', '": "')  # the closing record


def test_resume_last_takes_the_next_message_as_an_argument(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="first answer"), Turn(content="second answer")])
    first = run_cli(["run", "hello", "--output", "json"], tmp_path, server.base_url)
    assert first.returncode == 0, first.stderr
    again = run_cli(["resume", "--last", "next step", "--output", "json"], tmp_path, server.base_url)
    assert again.returncode == 0, again.stderr
    assert summary(again)["session_id"] == summary(first)["session_id"]
    assert server.requests[-1]["messages"][-1]["content"] == "next step"


def test_resume_by_id_takes_the_next_message_positionally(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="first answer"), Turn(content="second answer")])
    first = run_cli(["run", "hello", "--output", "json"], tmp_path, server.base_url)
    session = summary(first)["session_id"]
    again = run_cli(["resume", session, "next step", "--output", "json"], tmp_path, server.base_url)
    assert again.returncode == 0, again.stderr
    assert summary(again)["session_id"] == session
    assert server.requests[-1]["messages"][-1]["content"] == "next step"


def test_undo_of_an_unknown_session_says_so_with_exit_2(tmp_path: Path) -> None:
    result = run_cli(["undo", "20990101-000000-abcdef"], tmp_path)
    assert result.returncode == 2 and "no such session" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_undo_never_says_changed_nothing_of_a_session_that_changed_files(tmp_path: Path, fake_api) -> None:
    """A session whose checkpoint could not be made (here: its copy store is unwritable) still changed files."""
    (tmp_path / "a.txt").write_text("before\n")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": "new.txt",
                                                                                  "content": "x\n"})]),
                       Turn(content="done")])
    state = tmp_path / "state"
    state.mkdir()
    env = {"XDG_STATE_HOME": str(state)}
    first = run_cli(["run", "make a file", "--approval", "full-auto", "--output", "json"], tmp_path,
                      server.base_url, env_extra=env)
    assert first.returncode == 0 and (tmp_path / "new.txt").exists(), first.stderr
    for store in state.rglob("checkpoints"):  # as if the checkpoint had failed
        shutil.rmtree(store)
    result = run_cli(["undo", summary(first)["session_id"]], tmp_path, env_extra=env)
    assert result.returncode == 1 and "new.txt" in result.stderr and "changed nothing" not in result.stderr


def test_commit_without_a_git_identity_says_how_and_stages_nothing(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    git(workspace, "config", "user.useConfigOnly", "true")  # no guessing an identity from the host name
    server = fake_api([Turn(tool_calls=[READ_CALC, EDIT_CALC]), Turn(content="fixed")])
    result = run_cli(["fix-tests", "--approval", "full-auto", "--commit", "--output", "json"], workspace,
                       server.base_url, git_identity=False)
    assert result.returncode == 1
    message = summary(result)["message"]
    assert "git config --global user.email" in message and "git config --global user.name" in message
    assert "a + b" in (workspace / "calc.py").read_text()  # the work is kept on disk
    assert git(workspace, "diff", "--cached", "--name-only") == ""


@pytest.mark.parametrize(("flag", "value"), [("--rounds", "-2"), ("--max-turns", "0"), ("--max-cost", "-0.5"),
                                             ("--timeout", "0"), ("--max-cost", "nan")])
def test_counts_and_amounts_must_be_positive(tmp_path: Path, flag: str, value: str) -> None:
    result = run_cli(["fix-tests", flag, value], tmp_path)
    assert result.returncode == 2
    assert flag in result.stderr and result.stderr.strip().count("\n") == 0
    assert not (tmp_path / ".duet").exists()


def test_an_environment_error_names_the_variable(tmp_path: Path) -> None:
    result = run_cli(["run", "x"], tmp_path, env_extra={"DUET_MAX_COST": "-1"})
    assert result.returncode == 2 and "DUET_MAX_COST" in result.stderr and "max_cost" not in result.stderr
