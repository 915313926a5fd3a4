"""Nested `.git` directories: the file tools refuse them in any spelling, Duet's own git never runs a nested
repository's fsmonitor or hooks, and a command that creates one is reported."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.checkpoint import Checkpoint
from agent.context.inplay import recently_changed
from agent.context.scan import list_candidates
from agent.instructions.facts import git_facts
from agent.sandbox.landlock import abi_version
from agent.session import Session
from agent.undo import undo
from tests.conftest import git, make_config
from tools.base import ToolContext, ToolError
from tools.shell import ShellArgs, ShellTool
from tools.write_file import WriteFileTool

REFUSED = [".git/config", "./.git/config", "src/.git/config", "vendor/lib/.git/hooks/post-checkout", ".GIT/config",
           "src/.Git/HEAD", ".g\u200cit/config", "src/.git./config", ".DUET/config.toml", "src/GIT~1/config"]


@pytest.mark.parametrize("path", REFUSED)
async def test_write_file_refuses_every_spelling_of_git_dirs(repo: Path, path: str) -> None:
    tool = WriteFileTool()
    with pytest.raises(ToolError, match="protected"):
        await tool.run(tool.Args(path=path, content="[core]\n\tfsmonitor = touch /tmp/pwn\n"), ToolContext(root=repo))
    assert not (repo / "src").exists() and not (repo / "vendor").exists()


async def test_write_file_still_writes_git_lookalikes(repo: Path) -> None:
    tool = WriteFileTool()
    for path in (".github/workflows/ci.yml", "src/.gitignore", "docs/git/notes.md", ".gitattributes"):
        result = await tool.run(tool.Args(path=path, content="x\n"), ToolContext(root=repo))
        assert result.ok and (repo / path).exists()


@pytest.fixture
def nested(repo: Path, tmp_path: Path) -> Path:
    """`sub/` a nested repository, committed as a gitlink, whose fsmonitor leaves a marker, and dirty."""
    sub = repo / "sub"
    sub.mkdir()
    git(sub, "init", "-q")
    (sub / "b").write_text("b\n")
    git(sub, "add", "b")
    git(sub, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "s")
    marker = tmp_path / "fsmonitor-ran"
    git(sub, "config", "core.fsmonitor", f"touch {marker}; false")
    hook = sub / ".git/hooks/post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    git(repo, "add", "sub")
    git(repo, "commit", "-qm", "gitlink")
    (sub / "b").write_text("changed\n")
    (repo / "README.md").write_text("changed\n")
    subprocess.run(["git", "status"], cwd=repo, capture_output=True)  # plain git does run it: the threat is real
    assert marker.exists()
    marker.unlink()
    return marker


def test_duets_own_git_never_runs_a_nested_repositorys_fsmonitor(repo: Path, nested: Path) -> None:
    assert "README.md" in recently_changed(repo)
    assert "README.md" in list_candidates(repo)
    assert git_facts(repo).branch
    checkpoint = Checkpoint(repo, "s1")
    checkpoint.ensure([], opaque=True)  # a command is about to run: the snapshot before it
    (repo / "new.txt").write_text("new\n")
    checkpoint.settle()  # the snapshot after it: new.txt is the command's
    assert "new.txt" in undo(repo, "s1").removed
    assert not nested.exists()


@pytest.mark.skipif(abi_version() < 1, reason="this kernel has no Landlock")
async def test_a_command_creating_a_nested_git_is_reported(repo: Path) -> None:
    (repo / "src").mkdir()
    session = Session(repo, make_config(repo, "http://127.0.0.1:9", approval="full-auto"))
    shell = ShellTool()
    quiet = await shell.run(ShellArgs(command="echo x > src/a.py"), session.tool_context)
    loud = await shell.run(ShellArgs(command="mkdir -p src/.git && echo '[core]' > src/.git/config"),
                           session.tool_context)
    again = await shell.run(ShellArgs(command="true"), session.tool_context)
    session.close()
    assert ".git" not in quiet.output
    assert "src/.git" in loud.output and "nested" in loud.output, loud.output
    assert "nested" not in again.output
