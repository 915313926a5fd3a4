"""Shared by the approval tests: a scripted shell call and a repository with files a command could delete."""

from __future__ import annotations

from pathlib import Path

from fixtures.fakeapi import ScriptedCall
from tests.conftest import git


def shell(command: str) -> ScriptedCall:
    return ScriptedCall(name="shell", arguments={"command": command})


def victim_repo(repo: Path) -> Path:
    """calc/ and tests/ with files a command could delete (inside directories: the sandbox keeps root entries)."""
    for rel, text in (("calc/ops.py", "def add(a, b):\n    return a + b\n"), ("tests/test_ops.py", "x = 1\n")):
        (repo / rel).parent.mkdir(exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "code")
    return repo
