"""`agent context --whole --out FILE` when things go wrong: signals, a dying child, planted links, secrets."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.e2e import agent_bin, base_env, run_agent

SLOW_LINE = b"password = 'abcdefgh' token: x sk-aaaaaaaaaaaaaaaaaaaaaa\n"  # every line a redaction candidate


def _slow_workspace(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    for i in range(60):  # about two seconds of redaction: long enough to be interrupted half-way
        (root / f"b{i:03}.txt").write_bytes(SLOW_LINE * 1800)
    return root


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_export_keeps_the_old_file_and_leaves_nothing_behind(tmp_path: Path, sig: int,
                                                                          code: int) -> None:
    root = _slow_workspace(tmp_path / "ws")
    (root / "pack.xml").write_text("the user's old export\n")
    proc = subprocess.Popen([agent_bin(), "context", "--whole", "--out", "pack.xml"], cwd=root, env=base_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    children: list[str] = []
    while not children and proc.poll() is None and time.monotonic() < deadline:  # the forked half has started
        listed = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        children = [c for c in listed if b"agent" in _cmdline(c)]  # not git, which the scan runs
        time.sleep(0.01)
    time.sleep(0.3)  # well into the work
    assert children and proc.poll() is None, "the export ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert (root / "pack.xml").read_text() == "the user's old export\n"
    assert sorted(p.name for p in root.iterdir() if "pack" in p.name) == ["pack.xml"] and "internal error" not in err
    time.sleep(0.2)
    assert not [c for c in children if Path(f"/proc/{c}").exists()], "the export's child outlived it"


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_planted_link_cannot_redirect_the_export_and_secret_values_stay_out(tmp_path: Path) -> None:
    """A repository that ships `pack.xml.tmp` as a link (the fixed name earlier versions wrote) cannot make the
    export write through it; the values of the workspace's secret files are redacted as in a session."""
    root = tmp_path / "ws"
    root.mkdir()
    victim = tmp_path / "victim.pth"
    (root / "pack.xml.tmp").symlink_to(victim)
    (root / ".env").write_text("DB_PASS=Zq8vN3kW9pLx2Tr7\n")
    (root / "settings.py").write_text('DATABASES = {"default": {"PASS": "Zq8vN3kW9pLx2Tr7"}}\n')
    done = run_agent(["context", "--whole", "--out", "pack.xml"], root)
    assert done.returncode == 0, done.stderr
    pack = root / "pack.xml"
    assert not victim.exists() and pack.is_file() and not pack.is_symlink()
    assert "Zq8vN3kW9pLx2Tr7" not in pack.read_text() and '<file path="settings.py">' in pack.read_text()


FORKED_WAIT = """
import os, signal, time
from agent.context import forkwork
child = forkwork.start(lambda: (time.sleep(30), b"never")[1])
signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    child.wait()
except KeyboardInterrupt:
    pass
child.kill()  # again: harmless
try:
    os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    print("reaped")
"""


def test_an_interrupted_wait_stops_and_reaps_the_child() -> None:
    done = subprocess.run([sys.executable, "-c", FORKED_WAIT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "reaped", done.stderr
