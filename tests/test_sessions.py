"""Checkpoints, undo and resume on real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.outcome import Outcome
from agent.session import Session
from agent.undo import UndoError, undo
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import git, make_config
from tests.helpers import make_agent

EDITS = [Turn(reasoning="plan", tool_calls=[
    ScriptedCall(name="read_file", arguments={"path": "README.md"}),
    ScriptedCall(name="edit_file", arguments={"path": "README.md", "old_string": "hello", "new_string": "changed"}),
    ScriptedCall(name="write_file", arguments={"path": "new/file.py", "content": "x = 1\n"}),
    ScriptedCall(name="shell", arguments={"command": "rm notes/untracked.txt"})]), Turn(content="done")]


async def test_undo_restores_tracked_and_untracked_files_without_touching_git_state(repo: Path, fake_api) -> None:
    # In a subdirectory: under Landlock, commands cannot create or delete entries of the workspace root.
    (repo / "notes").mkdir()
    (repo / "notes/untracked.txt").write_text("mine\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    git(repo, "stash", "list")
    head, branch = git(repo, "rev-parse", "HEAD"), git(repo, "branch", "--show-current")
    index_before = git(repo, "diff", "--cached", "--name-only")
    server = fake_api(list(EDITS))
    agent, pool, _ = make_agent(repo, server.base_url)
    assert (await agent.run("change things")).outcome is Outcome.DONE
    await pool.aclose()
    assert (repo / "README.md").read_text() == "changed\n" and not (repo / "notes/untracked.txt").exists()
    assert git(repo, "for-each-ref", "refs/duet/").strip()
    report = undo(repo, agent.session.id)
    assert (repo / "README.md").read_text() == "hello\n"
    assert (repo / "notes/untracked.txt").read_text() == "mine\n"
    assert not (repo / "new/file.py").exists()
    assert set(report.restored) == {"README.md", "notes/untracked.txt"} and report.removed == ["new/file.py"]
    assert report.complete
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "branch", "--show-current") == branch
    assert git(repo, "diff", "--cached", "--name-only") == index_before
    assert git(repo, "stash", "list") == ""
    assert "duet" not in git(repo, "log", "--format=%s", "main")


async def test_undo_outside_git_uses_file_copies(tmp_path: Path, fake_api) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "README.md").write_text("hello\n")
    server = fake_api([EDITS[0].model_copy(update={"tool_calls": EDITS[0].tool_calls[:3]}), EDITS[1]])
    agent, pool, _ = make_agent(work, server.base_url)
    await agent.run("change")
    await pool.aclose()
    assert (work / "README.md").read_text() == "changed\n"
    undo(work, agent.session.id)
    assert (work / "README.md").read_text() == "hello\n" and not (work / "new/file.py").exists()


def test_undo_without_changes_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(UndoError, match="changed nothing"):
        undo(repo, "no-such-session")


async def test_resume_restores_history_and_spend(repo: Path, fake_api) -> None:
    server = fake_api([Turn(reasoning="first thought", tool_calls=[ScriptedCall(name="list_files")]),
                       Turn(content="first answer"), Turn(content="second answer")])
    agent, pool, _ = make_agent(repo, server.base_url)
    await agent.run("first task")
    await pool.aclose()
    spent = agent.session.ledger.total_usd
    agent.session.close()
    config = make_config(repo, server.base_url, approval="full-auto", model="deepseek-v4-pro")
    resumed = Session.resume(repo, config, agent.session.transcript.path)
    assert resumed.id == agent.session.id
    assert resumed.ledger.total_usd == spent and resumed.ledger.calls == 2
    assert [m.role for m in resumed.messages] == ["user", "assistant", "tool", "assistant"]
    from agent.approval import refuse_headless
    from agent.runtime import build_agent
    from tests.conftest import KEYS

    again, pool, = build_agent(resumed, refuse_headless, environ=KEYS)
    assert (await again.run("second task")).outcome is Outcome.DONE
    await pool.aclose()
    last = server.requests[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert last[2]["reasoning_content"] == "first thought"
    assert server.violations == []
