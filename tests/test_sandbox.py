"""The sandbox with real processes and the real kernel: what model commands can and cannot do."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from agent.sandbox.bwrap import bwrap_path
from agent.sandbox.landlock import abi_version
from agent.session import Session
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import TEST_KEY, git, make_config
from tests.helpers import sh, shell_session

pytestmark = pytest.mark.skipif(abi_version() < 1, reason="this kernel has no Landlock (the bwrap tests skip alone)")


@pytest.fixture
def box(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with protected dirs, a private system temp dir, and an `outside` dir that is neither."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "systmp"))
    (tmp_path / "systmp").mkdir()
    (tmp_path / "outside").mkdir()
    (repo / ".duet").mkdir(exist_ok=True)
    (repo / ".duet/config.toml").write_text("[retry]\nmax_retries = 1\n")
    (repo / "src").mkdir()
    return repo


async def test_writes_outside_the_workspace_fail_inside_succeed(box: Path, tmp_path: Path) -> None:
    session = shell_session(box, approval="full-auto")
    outside = tmp_path / "outside"
    for command in ("echo x > ../outside/a", "cp README.md ../outside/b", "echo x | tee ../outside/c",
                    "python3 -c \"open('../outside/d', 'w').write('x')\"", f"touch {outside}/e",
                    "sed -i s/hello/bye/ ../outside/a"):
        code, output = await sh(session, command)
        assert code != 0, command
    assert list(outside.iterdir()) == []
    code, output = await sh(session, "echo x > src/inside && python3 -c \"open('README.md','a').write('more')\" "
                                     "&& touch $TMPDIR/t && echo ok")
    assert code == 0 and "ok" in output, output
    assert (box / "src/inside").exists() and "more" in (box / "README.md").read_text()
    session.close()


async def test_refusal_reaches_the_model_with_what_to_change(box: Path) -> None:
    session = shell_session(box, approval="full-auto")
    _, output = await sh(session, "echo x > /etc/duet-test")
    assert "Duet's sandbox" in output and "--network" in output
    session.close()


async def test_find_home_delete_leaves_home_intact(box: Path, isolated_home: Path) -> None:
    (isolated_home / "keep.txt").write_text("mine")
    (isolated_home / ".ssh").mkdir()
    (isolated_home / ".ssh/id_ed25519").write_text("s3cr3t-key-material")
    session = shell_session(box, approval="full-auto")
    await sh(session, "find ~ -delete")
    assert (isolated_home / "keep.txt").read_text() == "mine"
    code, output = await sh(session, "cat ~/.ssh/id_ed25519")
    assert code != 0 and "s3cr3t" not in output
    session.close()


async def test_protected_dirs_are_read_only_but_git_still_reads(box: Path) -> None:
    config_before = (box / ".git/config").read_text()
    session = shell_session(box, approval="full-auto")
    for command in ("echo '[core] fsmonitor = evil' >> .git/config", "echo 'approval = \"full-auto\"' >> "
                    ".duet/config.toml", "touch .git/hooks/pre-commit", "rm -rf .git", "mv .duet/config.toml x"):
        await sh(session, command)
    assert (box / ".git/config").read_text() == config_before
    assert (box / ".duet/config.toml").read_text() == "[retry]\nmax_retries = 1\n"
    assert not (box / ".git/hooks/pre-commit").exists()
    (box / "README.md").write_text("changed\n")
    code, output = await sh(session, "git status --short && git diff --stat")
    assert code == 0 and "README.md" in output
    code, output = await sh(session, "git commit -qam sneaky")
    # EROFS under the mount namespace, EACCES from Landlock's per-entry grants where there is none
    assert code != 0 and ("Permission denied" in output or "Read-only file system" in output)
    assert "sneaky" not in git(box, "log", "--format=%s")
    session.close()


async def test_read_only_mode_runs_commands_that_only_read(box: Path) -> None:
    session = shell_session(box, approval="read-only")
    code, output = await sh(session, "grep -c hello README.md && touch $TMPDIR/scratch && echo tmp-ok")
    assert code == 0 and "tmp-ok" in output
    code, _ = await sh(session, "echo x > README.md; echo y > src/new")
    assert (box / "README.md").read_text() == "hello\n" and not (box / "src/new").exists()
    session.close()


async def test_network_is_off_by_default_and_on_with_the_setting(box: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 5); print('connected')\""
    try:
        off = shell_session(box, approval="full-auto")
        code, output = await sh(off, probe)
        assert code != 0 and "connected" not in output
        off.close()
        on = shell_session(box, approval="full-auto", sandbox={"network": True})
        code, output = await sh(on, probe)
        assert code == 0 and "connected" in output, output
        on.close()
    finally:
        server.close()


async def test_no_api_key_or_secret_in_the_environment(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENAI_ORG", "org-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("HARMLESS", "visible")
    monkeypatch.setenv("NPM_TOKEN", "npm-allowed")
    session = shell_session(box, approval="full-auto", sandbox={"env_allow": ["NPM_TOKEN"]})
    _, output = await sh(session, "env; test \"$NPM_TOKEN\" = npm-allowed && echo npm-token-passed")
    assert TEST_KEY not in output and "org-123" not in output and "ghp-secret" not in output
    # the allowed variable reaches the command; its value is still redacted from what the model reads
    assert "HARMLESS=visible" in output and "npm-token-passed" in output and "npm-allowed" not in output
    session.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def running(tag: str) -> list[int]:
    """Live processes (seen from here, outside any command's PID namespace) whose command line holds `tag`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and tag.encode() in (proc / "cmdline").read_bytes() and _alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


async def test_a_setsid_daemon_is_gone_after_its_command(box: Path) -> None:
    session = shell_session(box, approval="full-auto")
    await sh(session, "setsid sleep 3001 > /dev/null 2>&1 < /dev/null & sleep 0.2")
    assert not running("sleep\x003001")
    # a double fork that leaves the process group and renames nothing
    # the marker appears whole (written aside, then renamed), and the command waits for it however slow the machine
    await sh(session, "(setsid sh -c 'sleep 3002 & echo $! > $TMPDIR/pid.part && mv $TMPDIR/pid.part $TMPDIR/pid' &) ;"
                      " while [ ! -s $TMPDIR/pid ]; do sleep 0.05; done")
    assert not running("sleep\x003002")
    session.close()


async def test_sandbox_off_is_said_at_the_start_and_recorded(box: Path) -> None:
    events: list = []
    session = Session(box, make_config(box, "http://127.0.0.1:9", sandbox={"mode": "off"}), sink=events.append)
    session.start("run", "task")
    assert any(e.type == "notice" and "sandbox off" in e.message for e in events)
    code, _ = await sh(session, "echo x > ../outside-off && echo ok")
    assert code == 0 and (box.parent / "outside-off").exists()
    session.close()


def test_sigterm_kills_the_commands_and_exits_143(box: Path, fake_api) -> None:
    from tests.e2e import start_run_until_tool

    marker = box / "src/pid"
    command = f"sleep 3120 & echo $! > {marker}.part && mv {marker}.part {marker}; setsid sleep 3121 & wait"
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": command})]),
                       Turn(content="never")])
    proc = start_run_until_tool(box, server.base_url)
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running("sleep\x003120")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert not running("sleep\x003120") and not running("sleep\x003121")
    from agent.transcript import all_sessions

    transcript = all_sessions(box)[0].read_text().replace(" ", "")
    assert '"type":"run.finished","outcome":"interrupted","exit_code":143' in transcript


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed or cannot run here")
async def test_bwrap_fallback_keeps_the_same_policy(box: Path, tmp_path: Path) -> None:
    session = shell_session(box, approval="full-auto", sandbox={"mechanism": "bwrap"})
    assert session.launcher.mechanism == "bwrap"
    code, _ = await sh(session, "echo x > ../outside/a")
    assert code != 0 and not (tmp_path / "outside/a").exists()
    await sh(session, "echo evil >> .git/config")
    assert "evil" not in (box / ".git/config").read_text()
    code, output = await sh(session, "echo ok > new.txt && git status --short")
    assert code == 0 and "new.txt" in output
    session.close()
