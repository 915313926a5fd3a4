"""Undo never loses user work: later edits and files are kept, ignored files come back, records survive
`git clean -fdx`, forged records are refused, and without git it says what it cannot restore."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from agent.outcome import Outcome
from agent.transcript import all_sessions, state_dir
from agent.undo import UndoError, journal_dir, plan_undo, undo
from agent.userdirs import cache_base, config_dir, workspace_key
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import git
from tests.e2e import run_agent
from tests.helpers import make_agent


def edit(path: str, old: str, new: str) -> ScriptedCall:
    return ScriptedCall(name="edit_file", arguments={"path": path, "old_string": old, "new_string": new})


def shell(command: str) -> ScriptedCall:
    return ScriptedCall(name="shell", arguments={"command": command})


async def run_script(workspace: Path, server_factory, calls: list[ScriptedCall]) -> str:  # type: ignore[no-untyped-def]
    reads = [ScriptedCall(name="read_file", arguments={"path": c.arguments["path"]})  # edits need a read first
             for c in calls if c.name == "edit_file" and isinstance(c.arguments, dict)]
    server = server_factory([Turn(tool_calls=[*reads, *calls]), Turn(content="done")])
    agent, pool, _ = make_agent(workspace, server.base_url)
    assert (await agent.run("change things")).outcome is Outcome.DONE
    await pool.aclose()
    agent.session.close()
    return agent.session.id


@pytest.fixture
def project(repo: Path) -> Path:
    # Work below the root: the sandbox lets commands change files, not the entries of the workspace root.
    (repo / "pkg").mkdir()
    (repo / "pkg/a.py").write_text("a = 1\n")
    (repo / "pkg/b.py").write_text("b = 1\n")
    (repo / ".gitignore").write_text("local.cfg\n")
    (repo / "pkg/local.cfg").write_text("mine = yes\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    return repo


async def test_later_user_edits_and_files_are_kept(project: Path, fake_api) -> None:
    session = await run_script(project, fake_api, [
        edit("pkg/a.py", "a = 1", "a = 2"), edit("pkg/b.py", "b = 1", "b = 2"),
        ScriptedCall(name="write_file", arguments={"path": "pkg/duet_new.py", "content": "new = 1\n"}),
        ScriptedCall(name="write_file", arguments={"path": "pkg/duet_other.py", "content": "other = 1\n"})])
    (project / "pkg/b.py").write_text("b = 2\nuser_line = 3\n")  # the user goes on working after the run
    (project / "pkg/duet_other.py").write_text("other = 1\n# the user's comment\n")
    (project / "pkg/user_new.py").write_text("mine = 1\n")
    report = undo(project, session)
    assert (project / "pkg/a.py").read_text() == "a = 1\n" and report.restored == ["pkg/a.py"]
    assert not (project / "pkg/duet_new.py").exists() and report.removed == ["pkg/duet_new.py"]
    assert (project / "pkg/b.py").read_text() == "b = 2\nuser_line = 3\n"
    assert (project / "pkg/duet_other.py").read_text().endswith("# the user's comment\n")
    assert (project / "pkg/user_new.py").read_text() == "mine = 1\n"
    assert report.kept == ["pkg/b.py", "pkg/duet_other.py"] and not report.complete
    forced = run_agent(["undo", session, "--force"], project)
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.index("+b = 1") < forced.stdout.index("restored pkg/b.py")  # the diff comes first
    assert (project / "pkg/b.py").read_text() == "b = 1\n" and not (project / "pkg/duet_other.py").exists()
    assert (project / "pkg/user_new.py").exists()


async def test_deleted_gitignored_files_are_restored_and_git_clean_is_survived(project: Path, fake_api) -> None:
    session = await run_script(project, fake_api, [shell("rm pkg/local.cfg pkg/a.py"),
                                                   edit("pkg/b.py", "b = 1", "b = 9")])
    assert not (project / "pkg/local.cfg").exists()
    git(project, "clean", "-fdxq")
    assert not (project / ".duet").exists()
    assert [p.stem for p in all_sessions(project)] == [session]  # the transcript is under .git/duet/
    result = run_agent(["undo", "--last"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "pkg/local.cfg").read_text() == "mine = yes\n"
    assert (project / "pkg/a.py").read_text() == "a = 1\n"
    assert (project / "pkg/b.py").read_text() == "b = 1\n"
    assert f"session {session}" in result.stdout


async def test_a_change_in_doubt_is_kept_unless_forced(project: Path, fake_api) -> None:
    # No state the session left the file in is known (a command killed before its end was seen): in doubt, kept.
    session = await run_script(project, fake_api, [edit("pkg/a.py", "a = 1", "a = 2")])
    manifest_path = journal_dir(project, session) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["pkg/a.py"]["after"] = None
    manifest_path.write_text(json.dumps(manifest))
    report = undo(project, session)
    assert report.kept == ["pkg/a.py"] and (project / "pkg/a.py").read_text() == "a = 2\n"
    assert undo(project, session, force=True).restored == ["pkg/a.py"]


async def test_without_git_undo_restores_file_edits_and_reports_shell_changes(tmp_path: Path, fake_api) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "a.py").write_text("a = 1\n")
    (work / "sub").mkdir()
    session = await run_script(work, fake_api, [edit("a.py", "a = 1", "a = 2"),
                                                shell("echo hi > sub/shell_made.txt")])
    result = run_agent(["undo", "--last"], work)
    assert result.returncode == 1
    assert (work / "a.py").read_text() == "a = 1\n"
    assert "cannot restore: changes made by shell commands" in result.stdout and f"session {session}" in result.stdout
    assert (work / "sub/shell_made.txt").exists()  # not Duet's to delete: it cannot know who made it


async def test_forged_records_are_refused(tmp_path: Path, fake_api) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "a.py").write_text("a = 1\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    session = await run_script(work, fake_api, [edit("a.py", "a = 1", "a = 2")])
    manifest_path = journal_dir(work, session) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    good = dict(manifest["files"])
    manifest["files"]["../outside.txt"] = {"before": None, "mode": "100644", "after": [None]}
    manifest_path.write_text(json.dumps(manifest))
    result = run_agent(["undo", session], work)
    assert result.returncode == 1 and "refusing" in result.stderr and result.stderr.count("\n") == 1
    assert outside.read_text() == "precious\n" and (work / "a.py").read_text() == "a = 2\n"
    (work / "link").symlink_to(tmp_path)
    manifest["files"] = {**good, "link/outside.txt": {"before": None, "mode": "100644", "after": [None]}}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(UndoError, match="outside the workspace"):
        plan_undo(work, session)
    assert run_agent(["undo", "../../etc"], work).returncode == 2


async def test_private_files_have_private_modes(project: Path, fake_api) -> None:
    session = await run_script(project, fake_api, [edit("a.py", "a = 1", "a = 2")])
    transcript = next(p for p in all_sessions(project) if p.stem == session)
    assert stat.S_IMODE(transcript.stat().st_mode) == 0o600
    assert stat.S_IMODE(transcript.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(state_dir(project).stat().st_mode) == 0o700
    cache = cache_base() / "workspaces" / workspace_key(project)  # the context caches, made by the run
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE((config_dir() / "cache.key").stat().st_mode) == 0o600


async def test_a_file_undo_cannot_put_back_is_named_with_a_non_zero_exit(project: Path, fake_api) -> None:
    """28.3: never "restored" with exit 0 when the tree is not back (here the file is immutable: chattr +i)."""
    session = await run_script(project, fake_api, [edit("pkg/a.py", "a = 1", "a = 2"),
                                                   edit("pkg/b.py", "b = 1", "b = 2")])
    target = project / "pkg/a.py"
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("this file system (or user) cannot make a file immutable")
    try:
        result = run_agent(["undo", session], project)
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(line.startswith("cannot restore: pkg/a.py") for line in result.stdout.splitlines()), result.stdout
    assert "restored pkg/a.py" not in result.stdout and target.read_text() == "a = 2\n"
    assert "restored pkg/b.py" in result.stdout and (project / "pkg/b.py").read_text() == "b = 1\n"


@pytest.mark.parametrize("body", ['{"version": 1, "files": {"a.py": 5}}', "[1, 2]", "not json {", '{"files": []}'])
async def test_a_damaged_record_is_one_line_naming_it_with_exit_2(tmp_path: Path, fake_api, body: str) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "a.py").write_text("a = 1\n")
    session = await run_script(work, fake_api, [edit("a.py", "a = 1", "a = 2")])
    manifest_path = journal_dir(work, session) / "manifest.json"
    manifest_path.write_text(body)
    result = run_agent(["undo", session], work)
    assert result.returncode == 2, result.stderr
    assert str(manifest_path) in result.stderr and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr and (work / "a.py").read_text() == "a = 2\n"
