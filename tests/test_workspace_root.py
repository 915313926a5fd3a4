"""The workspace is the git root of where the user stands (unless -C says otherwise); tools start where they are."""

from __future__ import annotations

from pathlib import Path

from agent.transcript import sessions_dir
from fixtures import SCRIPTS_DIR
from fixtures.fakeapi import Script, ScriptedCall, Turn
from tests.e2e import run_cli, sample, summary


def test_fix_tests_from_a_subdirectory_works_at_the_git_root(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    (workspace / "AGENTS.md").write_text("Keep calc.py free of imports.\n")
    subdir = workspace / "tests"
    server = fake_api(Script.load(SCRIPTS_DIR / "fix_py_calc.json").turns)
    result = run_cli(["fix-tests", "--approval", "full-auto", "--output", "json"], subdir, server.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = summary(result)
    assert out["files_changed"] == {"calc.py": "modified"} and out["tests_after"]["passed"] is True
    assert not (subdir / ".duet").exists()
    assert (sessions_dir(workspace) / f"{out['session_id']}.jsonl").is_file()
    system = server.requests[0]["messages"][0]["content"]
    assert "Keep calc.py free of imports." in system and f"started you in: {subdir}." in system


def test_shell_starts_in_the_users_directory_and_file_tools_at_the_root(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "pwd"}),
                                        ScriptedCall(name="read_file", arguments={"path": "calc.py"})]),
                       Turn(content="ok")])
    result = run_cli(["run", "where am I", "--approval", "full-auto", "--output", "stream-json"],
                       workspace / "tests", server.base_url)
    assert result.returncode == 0, result.stderr
    tools = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert tools[0].splitlines()[0] == str(workspace / "tests")
    assert "def add" in tools[1]


def test_dash_c_names_the_workspace_as_given(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="ok")])
    result = run_cli(["run", "hi", "-C", "tests", "--output", "json"], workspace, server.base_url)
    assert result.returncode == 0, result.stderr
    assert (sessions_dir(workspace / "tests") / f"{summary(result)['session_id']}.jsonl").is_file()


def test_outside_a_repository_the_workspace_is_the_current_directory(tmp_path: Path, fake_api) -> None:
    (tmp_path / "plain").mkdir()
    server = fake_api([Turn(content="ok")])
    result = run_cli(["run", "hi", "--output", "json"], tmp_path / "plain", server.base_url)
    assert result.returncode == 0, result.stderr
    assert (sessions_dir(tmp_path / "plain") / f"{summary(result)['session_id']}.jsonl").is_file()
    assert not (tmp_path / "plain" / ".duet").exists()  # nothing of Duet's in the work tree


def test_an_empty_git_directory_git_rejects_does_not_make_a_workspace(tmp_path: Path, fake_api) -> None:
    outer = tmp_path / "outer"
    (outer / ".git").mkdir(parents=True)  # an empty `.git` (an unpacked sdist, a stray mkdir): git rejects it
    (outer / "pkg").mkdir()
    server = fake_api([Turn(content="ok")])
    result = run_cli(["run", "hi", "--output", "json"], outer / "pkg", server.base_url)
    assert result.returncode == 0, result.stderr
    assert (sessions_dir(outer / "pkg") / f"{summary(result)['session_id']}.jsonl").is_file()


def test_home_and_root_are_refused_as_workspaces_without_dash_c(tmp_path: Path, isolated_home: Path) -> None:
    for where in (isolated_home, Path("/")):
        result = run_cli(["run", "hi", "--output", "json"], where, "http://127.0.0.1:9/v1")
        assert result.returncode == 2 and "refusing to work in" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    named = run_cli(["context", "-C", str(isolated_home)], tmp_path)
    assert "refusing" not in named.stderr  # -C says the user means it
