"""The workspace root is writable to commands while .git/ and .duet/ stay read-only (private mount namespace).

Real processes, the real kernel: Landlock grants the whole workspace and the child bind-mounts the protected
directories read-only. Skipped, with the reason, where this machine gives no mount namespace to a child.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path

import pytest

from agent.sandbox import mountns
from agent.sandbox.landlock import abi_version
from agent.sandbox.launcher import SandboxLauncher
from agent.sandbox.notes import blocked_note
from agent.sandbox.paths import rules_for
from agent.sandbox.policy import SandboxInfo, SandboxPolicy
from agent.session import Session
from tests.conftest import git, make_config
from tools.shell import ShellArgs, ShellTool

no_landlock = pytest.mark.skipif(abi_version() < 1, reason="this kernel has no Landlock")


def _no_mount_ns() -> str:
    return "" if abi_version() < 1 else mountns.available()


needs_mount_ns = pytest.mark.skipif(bool(_no_mount_ns()), reason=f"no mount namespace for commands: {_no_mount_ns()}")


@pytest.fixture
def box(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "systmp"))
    (tmp_path / "systmp").mkdir()
    (repo / ".duet").mkdir(exist_ok=True)
    (repo / ".duet/config.toml").write_text("[retry]\nmax_retries = 1\n")
    (repo / "a").write_text("a\n")
    git(repo, "add", "a")
    git(repo, "commit", "-qm", "a")
    return repo


def session_for(workspace: Path, **config: object) -> Session:
    return Session(workspace, make_config(workspace, "http://127.0.0.1:9", **config))


async def sh(session: Session, command: str) -> tuple[int, str]:
    result = await ShellTool().run(ShellArgs(command=command, timeout_s=60), session.tool_context)
    return int(result.data["exit_code"]), result.output


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its contents (None for a directory), symlinks not followed."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return out


@needs_mount_ns
async def test_commands_create_delete_and_rename_at_the_root(box: Path) -> None:
    (box / ".env").write_text("DB_PASSWORD=RootCanary-4242\n")  # a hidden secret file must not cost the root
    session = session_for(box, approval="auto-edit")
    assert "+ mount namespace" in session.launcher.info().detail
    code, output = await sh(session, "touch new_at_root && mkdir build && rm README.md && mv a b && echo ok")
    assert code == 0 and "ok" in output, output
    assert (box / "new_at_root").is_file() and (box / "build").is_dir()
    assert not (box / "README.md").exists() and not (box / "a").exists() and (box / "b").read_text() == "a\n"
    code, output = await sh(session, "python3 -m venv --without-pip .venv && ls .venv/bin/python && echo venv-ok")
    assert code == 0 and "venv-ok" in output, output
    code, output = await sh(session, "cat .env")
    assert code != 0 and "RootCanary" not in output and "Permission denied" in output
    session.close()


@needs_mount_ns
async def test_git_and_duet_stay_read_only_with_a_writable_root(box: Path) -> None:
    session = session_for(box, approval="auto-edit")
    git_before, duet_before = _snapshot(box / ".git"), _snapshot(box / ".duet")
    attacks = ["echo '[core] fsmonitor = evil' >> .git/config", "touch .git/hooks/x", "rm .git/config",
               "mv .git/config .git/config2", "echo 'approval = \"full-auto\"' > .duet/config.toml",
               "rm .duet/config.toml", "mv .git x", "mv .duet y", "rm -rf .git", "rm -rf .duet",
               "ln .git/config hard && echo evil >> hard", "ln -s .git/config soft && echo evil >> soft",
               "ln -s .git/hooks hk && touch hk/pre-commit", "ln -sfn /tmp .git",
               "python3 -c \"import os; os.rename('.git', 'g')\"",
               "python3 -c \"import shutil; shutil.rmtree('.duet')\"",
               "cd .git && echo evil > hooks/pre-commit", "umount .git", "umount -l .duet"]
    for command in attacks:
        code, _ = await sh(session, command)
        assert code != 0, command
    assert _snapshot(box / ".git") == git_before and _snapshot(box / ".duet") == duet_before
    assert (box / ".git").is_dir() and not (box / ".git").is_symlink()
    session.close()


@needs_mount_ns
async def test_git_reads_and_a_commit_fails_cleanly(box: Path) -> None:
    session = session_for(box, approval="full-auto")
    (box / "README.md").write_text("changed\n")
    code, output = await sh(session, "touch untracked && git status --short && git diff --stat")
    assert code == 0 and "README.md" in output and "untracked" in output, output
    code, output = await sh(session, "git -c user.email=m@x -c user.name=m commit -qam sneaky")
    assert code != 0 and "Read-only file system" in output, output
    assert "sneaky" not in git(box, "log", "--format=%s")
    git(box, "status")  # no stale index.lock left behind
    session.close()


@needs_mount_ns
async def test_read_only_mode_still_writes_nothing(box: Path) -> None:
    session = session_for(box, approval="read-only")
    await sh(session, "touch new_at_root; mkdir build; rm README.md; echo x > a")
    assert not (box / "new_at_root").exists() and not (box / "build").exists()
    assert (box / "README.md").read_text() == "hello\n" and (box / "a").read_text() == "a\n"
    session.close()


@needs_mount_ns
def test_duet_dir_is_made_private_before_the_first_command(repo: Path) -> None:
    policy = SandboxPolicy(enabled=True, workspace=repo.resolve(), workspace_writable=True, network=False)
    launcher = SandboxLauncher(policy)

    async def run() -> int:
        proc = await launcher.start(["sh", "-c", "touch .duet/x"], cwd=repo, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        code = await proc.wait()
        launcher.finish(proc)
        return code

    try:
        assert not (repo / ".duet").exists()
        assert asyncio.run(run()) != 0
        assert stat.S_IMODE((repo / ".duet").stat().st_mode) == 0o700 and not (repo / ".duet/x").exists()
    finally:
        launcher.close()


@no_landlock
def test_without_a_mount_namespace_the_root_is_carved_and_the_model_told(box: Path) -> None:
    policy = SandboxPolicy(enabled=True, workspace=box.resolve(), workspace_writable=True, network=False)
    carved = rules_for(policy, box / "tmp-unused", mount_protected=False)
    whole = rules_for(policy, box / "tmp-unused", mount_protected=True)
    assert box.resolve() not in carved.write and box.resolve() / ".git" not in carved.write
    assert box.resolve() / "README.md" in carved.write
    assert box.resolve() in whole.write
    info = SandboxInfo(mechanism="landlock", detail="Landlock", writable=(f"the workspace {box}",),
                       protected=(".git/", ".duet/"), network=False)
    assert "workspace root" in blocked_note(info, "touch: Permission denied")
    roomy = SandboxInfo(mechanism="landlock", detail="Landlock", writable=(f"the workspace {box}",),
                        protected=(".git/", ".duet/"), network=False, root_writable=True)
    assert "workspace root" not in blocked_note(roomy, "touch: Read-only file system")


@needs_mount_ns
def test_doctor_says_the_mount_namespace_is_in_use(repo: Path) -> None:
    from tests.e2e import run_agent

    result = run_agent(["doctor"], repo, key=False)
    assert result.returncode == 0, result.stderr
    assert "mount ns" in result.stdout and "read-only mounts, the workspace root writable" in result.stdout


@needs_mount_ns
async def test_a_git_dir_made_at_a_repo_less_root_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    work = tmp_path / "plain"
    work.mkdir()
    session = session_for(work, approval="auto-edit")
    code, output = await sh(session, "mkdir build && echo ok")
    assert code == 0 and "nested git repository" not in output
    code, output = await sh(session, "git init -q . && echo ok")
    assert code == 0 and "nested git repository (.git)" in output, output
    session.close()
