"""Checkpoints never put secret files where commands can read them: a gitignored `.env` and a binary keystore
are not in `.git/objects` after a real session's checkpoints (not through `git show <ref>:.env`, not in any
object), yet `agent undo` puts them back byte for byte from Duet's private store."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from agent.undo import gitstore, undo
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import git
from tests.e2e import run_agent
from tools.secret_files import SecretFiles

CANARY = "CANARY-7f3a9c1e-duet-env"
KEY_CANARY = b"KEYSTORE-CANARY-91b2"


def all_objects(repo: Path) -> bytes:
    """Every object in the repository's store, decompressed (loose and packed)."""
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo, capture_output=True,
                          check=True).stdout


def secret_repo(repo: Path) -> tuple[bytes, bytes]:
    (repo / ".gitignore").write_text(".env\n*.jks\n")
    (repo / "pkg").mkdir()
    (repo / "pkg/a.py").write_text("a = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    env = f"API_TOKEN={CANARY}\r\nOTHER=1\n".encode()
    keystore = bytes(range(256)) + KEY_CANARY + b"\x00\xfe\xff" * 50  # binary: no encoding to undo
    (repo / ".env").write_bytes(env)
    (repo / "keystore.jks").write_bytes(keystore)
    return env, keystore


def test_secret_files_stay_out_of_the_object_store_and_undo_restores_them(repo: Path, fake_api) -> None:
    env, keystore = secret_repo(repo)
    # The session changes a source file and the secret files (by a command: the file tools refuse them).
    calls = [ScriptedCall(name="shell", arguments={
        "command": "echo 'a = 2' > pkg/a.py; printf 'API_TOKEN=rotated\\n' > .env; rm -f keystore.jks; echo ok"})]
    server = fake_api([Turn(tool_calls=calls), Turn(content="done")])
    result = run_agent(["run", "change things", "--approval", "full-auto"], repo, server.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/duet/").split()
    assert len(refs) == 2, refs  # the checkpoint before the change and the record of how the run left things
    for ref in refs:
        names = git(repo, "ls-tree", "-r", "--name-only", ref).split()
        assert "pkg/a.py" in names and ".env" not in names and "keystore.jks" not in names
        shown = subprocess.run(["git", "show", f"{ref}:.env"], cwd=repo, capture_output=True)
        assert shown.returncode != 0 and CANARY.encode() not in shown.stdout
    objects = all_objects(repo)
    assert CANARY.encode() not in objects and KEY_CANARY not in objects and b"rotated" not in objects
    assert b"a = 2" in objects  # the snapshot itself is in the repository (undo of ordinary files needs it)
    for path in (repo / ".git").rglob("*"):  # nor anywhere else under .git (e.g. .git/duet), raw
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes() and KEY_CANARY not in path.read_bytes(), path
    # The private store is the user's alone.
    state = Path(os.environ["HOME"]) / ".local/state/duet/private"
    for path in [state, *state.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))

    undone = run_agent(["undo", "--last"], repo)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert (repo / ".env").read_bytes() == env and (repo / "keystore.jks").read_bytes() == keystore
    assert (repo / "pkg/a.py").read_text() == "a = 1\n"
    assert CANARY.encode() not in all_objects(repo)


def test_a_tracked_secrets_local_edit_and_a_killed_run(repo: Path, fake_api) -> None:
    # A tracked secret file with an uncommitted local value: the checkpoint must not commit that value either.
    (repo / "config").mkdir()
    (repo / "config/credentials.json").write_text('{"token": "committed-placeholder"}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tracked secret")
    local = f'{{"token": "{CANARY}"}}\n'.encode()
    (repo / "config/credentials.json").write_bytes(local)
    calls = [ScriptedCall(name="shell", arguments={"command": "echo '{}' > config/credentials.json; echo x > n.txt"})]
    server = fake_api([Turn(tool_calls=calls), Turn(content="done")])
    result = run_agent(["run", "change things", "--approval", "full-auto"], repo, server.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CANARY.encode() not in all_objects(repo)
    fsck = subprocess.run(["git", "fsck", "--full", "--no-dangling"], cwd=repo, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr  # every ref's objects are in the repository
    # As if the run had been killed before its end-of-run record: undo must work from the checkpoint alone.
    for ref in git(repo, "for-each-ref", "--format=%(refname)", "refs/duet/finished/").split():
        git(repo, "update-ref", "-d", ref)
    undone = run_agent(["undo", "--last", "--force"], repo)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert (repo / "config/credentials.json").read_bytes() == local
    assert not (repo / "n.txt").exists()
    assert CANARY.encode() not in all_objects(repo)


@pytest.mark.parametrize("before_list, after_list", [((), ("*.cfg",)), (("*.cfg",), ())])
def test_a_secret_list_changed_between_snapshots_loses_nothing(repo: Path, before_list, after_list) -> None:
    # The file is secret on one side only: kept in the tree on one, in the private record on the other. Undo
    # must still see one changed file and restore it (not delete it as "created", not keep it as "unchanged").
    (repo / "notes.cfg").write_bytes(b"original\x00\n")
    gitstore.take(repo, "s1", gitstore.BEFORE_PREFIX, "before", SecretFiles(before_list))
    (repo / "notes.cfg").write_bytes(b"changed\n")
    gitstore.take(repo, "s1", gitstore.AFTER_PREFIX, "after", SecretFiles(after_list))
    report = undo(repo, "s1")
    assert (repo / "notes.cfg").read_bytes() == b"original\x00\n", report
