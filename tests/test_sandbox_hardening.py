"""The sandbox against the red-team findings, with real processes and the real kernel (no mocks)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from agent.sandbox.landlock import abi_version
from agent.sandbox.seccomp import unavailable_reason
from tests.helpers import sh, shell_session

pytestmark = pytest.mark.skipif(abi_version() < 1, reason="this kernel has no Landlock")
needs_seccomp = pytest.mark.skipif(bool(unavailable_reason()), reason=f"no seccomp here: {unavailable_reason()}")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="capabilities only matter when the tests run as root")


@pytest.fixture
def box(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "systmp"))
    (tmp_path / "systmp").mkdir()
    return repo


SOCKETS = """
import socket, sys, ctypes
def attempt(name, make):
    try:
        make()
        print(name, 'ALLOWED')
    except OSError as exc:
        print(name, 'refused', exc.errno)
udp, tcp = int(sys.argv[1]), int(sys.argv[2])
attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'udp-exfil', ('127.0.0.1', udp)))
attempt('mptcp', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262).connect(('127.0.0.1', tcp)))
attempt('raw', lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt('packet', lambda: socket.socket(17, socket.SOCK_RAW, 0))
attempt('netlink', lambda: socket.socket(16, socket.SOCK_RAW, 0))
attempt('udp6', lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK))
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
ring = libc.syscall(425, 1, params)
print('io_uring', 'ALLOWED' if ring >= 0 else f'refused {ctypes.get_errno()}')
attempt('tcp-socket', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC, 6).close())
attempt('unix', lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
a, b = socket.socketpair(); a.send(b'pair'); print('socketpair', b.recv(4).decode())
import asyncio; asyncio.run(asyncio.sleep(0)); print('asyncio ok')
"""


@needs_seccomp
async def test_network_off_refuses_udp_mptcp_raw_packet_netlink_and_io_uring(box: Path) -> None:
    (box / "sockets.py").write_text(SOCKETS)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    try:
        session = shell_session(box, approval="full-auto")
        _, output = await sh(session, f"python3 sockets.py {udp.getsockname()[1]} {tcp.getsockname()[1]}")
        session.close()
        for name in ("udp", "mptcp", "raw", "packet", "netlink", "udp6", "io_uring"):
            assert f"{name} refused" in output, output
        for name in ("tcp-socket", "unix"):
            assert f"{name} ALLOWED" in output, output
        assert "socketpair pair" in output and "asyncio ok" in output, output
        with pytest.raises(BlockingIOError):
            udp.recvfrom(64)
        with pytest.raises(BlockingIOError):
            tcp.accept()
    finally:
        udp.close()
        tcp.close()


@needs_seccomp
async def test_network_on_keeps_udp(box: Path) -> None:
    (box / "sockets.py").write_text(SOCKETS)
    session = shell_session(box, approval="full-auto", sandbox={"network": True})
    _, output = await sh(session, "python3 sockets.py 9 9")
    session.close()
    assert "udp ALLOWED" in output and "netlink ALLOWED" in output, output


@needs_root
async def test_root_commands_run_without_capabilities(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUET_CANARY_ENVIRON", "environ-canary-31337")
    session = shell_session(box, approval="full-auto")
    code, output = await sh(session, "grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status")
    assert code == 0 and output.count("0000000000000000") == 4, output
    code, output = await sh(session, f"xxd -p /proc/{os.getpid()}/environ || od -c /proc/{os.getpid()}/environ")
    session.close()
    assert "environ-canary" not in output and "656e7669726f6e2d63616e617279" not in output


TERMINAL = """
import os, sys, fcntl, termios
for path in (sys.argv[1], '/dev/console', '/dev/tty', '/dev/tty0', '/dev/ptmx'):
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK))
        print(path, 'ALLOWED')
    except OSError as exc:
        print(path, 'refused', exc.errno)
with open('/dev/urandom', 'rb') as f, open('/dev/null', 'w') as null:
    print('urandom', len(f.read(8)), 'null ok' if null.write('x') == 1 else '')
fd = os.open('/dev/null', os.O_RDONLY)
try:
    fcntl.ioctl(fd, termios.TCGETS, bytes(64))
except OSError as exc:
    print('ioctl errno', exc.errno)
"""


async def test_terminals_are_out_of_reach_and_devices_need_no_ioctls(box: Path) -> None:
    import pty

    (box / "terminal.py").write_text(TERMINAL)
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    try:
        session = shell_session(box, approval="full-auto")
        _, output = await sh(session, f"python3 terminal.py {name}")
        session.close()
    finally:
        os.close(master)
        os.close(slave)
    assert f"{name} refused" in output, output
    assert "ALLOWED" not in output, output
    assert "urandom 8 null ok" in output, output
    if abi_version() >= 5:  # device ioctls handled: refused (EACCES) rather than "not a tty" (ENOTTY)
        assert "ioctl errno 13" in output, output


async def test_private_temp_is_private_and_outside_the_system_temp(box: Path, isolated_home: Path,
                                                                   tmp_path: Path) -> None:
    first = shell_session(box, approval="full-auto")
    second = shell_session(box, approval="full-auto")
    mine, theirs = first.launcher.private_tmp, second.launcher.private_tmp
    assert mine.parent == theirs.parent == isolated_home / ".cache/duet/runs"
    assert (mine.stat().st_mode & 0o777, mine.parent.stat().st_mode & 0o777) == (0o700, 0o700)
    (theirs / "shot.png").write_text("THEIR-SHOT")
    _, output = await sh(first, f"echo mine > $TMPDIR/f && cat $TMPDIR/f && echo x > {theirs}/shot.png; "
                                   f"cat {theirs}/shot.png; ls {theirs.parent}")
    assert "mine" in output and (theirs / "shot.png").read_text() == "THEIR-SHOT"
    assert "THEIR-SHOT" not in output and "cannot open directory" in output, output
    first.close()
    second.close()


async def test_credential_stores_hidden_through_symlinks_xdg_and_not_listable(
        box: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotfiles = isolated_home / "dotfiles/aws"
    dotfiles.mkdir(parents=True)
    (dotfiles / "credentials").write_text("AWS-CANARY-91bb")
    (isolated_home / ".aws").symlink_to(dotfiles)
    for name, text in {".config/gh/hosts.yml": "GH-CANARY-5555", ".npmrc": "//r/:_authToken=NPM-CANARY",
                       ".pgpass": "h:5432:*:u:PG-CANARY", ".ssh/id_rsa": "SSH-CANARY"}.items():
        (isolated_home / name).parent.mkdir(parents=True, exist_ok=True)
        (isolated_home / name).write_text(text)
    xdg = tmp_path / "xdg"
    (xdg / "duet").mkdir(parents=True)
    (xdg / "duet/config.toml").write_text("# DUET-CONFIG-CANARY\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    session = shell_session(box, approval="full-auto")
    _, output = await sh(session, f"cat ~/.aws/credentials {dotfiles}/credentials ~/.config/gh/hosts.yml ~/.npmrc "
                                  f"~/.pgpass {xdg}/duet/config.toml; ls ~/.ssh; ls -a ~; ls {xdg}/duet")
    session.close()
    assert "CANARY" not in output and "id_rsa" not in output, output


STAND_IN = """
import asyncio, pathlib, sys
from agent.sandbox.launcher import SandboxLauncher
from agent.sandbox.policy import SandboxPolicy
ws = pathlib.Path(sys.argv[1])
async def main():
    launcher = SandboxLauncher(SandboxPolicy(enabled=True, workspace=ws, workspace_writable=True, network=False,
                                             mechanism="bwrap", home=ws))
    assert launcher.mechanism == "bwrap", launcher.detail
    await launcher.start(["bash", "-c", "env -i setsid sh -c 'sleep 4747' & sleep 4748"], cwd=ws, stdout=2, stderr=2)
    print("started", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def _sleepers(tag: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and tag.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(__import__("agent.sandbox.bwrap", fromlist=["bwrap_path"]).bwrap_path() is None,
                    reason="bubblewrap (bwrap) is not installed or cannot run here")
def test_bwrap_commands_die_with_a_killed_duet(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    duet = subprocess.Popen([sys.executable, "-c", STAND_IN, str(tmp_path)], stdout=subprocess.PIPE)
    assert duet.stdout is not None and duet.stdout.readline() == b"started\n"
    deadline = time.monotonic() + 10
    while len(_sleepers("sleep\x004747")) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sleepers("sleep\x004747"), "the daemon never started"
    duet.send_signal(signal.SIGKILL)
    duet.wait()
    deadline = time.monotonic() + 5
    while _sleepers("sleep\x004747") and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _sleepers("sleep\x004747") + _sleepers("sleep\x004748")
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "a command's daemon outlived Duet"


@pytest.mark.skipif(__import__("agent.sandbox.bwrap", fromlist=["bwrap_path"]).bwrap_path() is None,
                    reason="bubblewrap (bwrap) is not installed or cannot run here")
async def test_agent_sockets_are_out_of_reach_with_the_network_off(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    agent_dir = Path(tempfile.mkdtemp(prefix="ssh-duettest-", dir="/tmp"))
    path = agent_dir / "agent.1"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(path))
    probe = (f"echo sock=$SSH_AUTH_SOCK; python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); "
             f"s.connect('{path}'); print('connected')\"")
    try:
        landlock = shell_session(box, approval="full-auto")
        _, output = await sh(landlock, probe)
        landlock.close()
        assert f"sock={path}" not in output  # not handed to commands (Landlock cannot refuse the connect itself)
        bwrap = shell_session(box, approval="full-auto", sandbox={"mechanism": "bwrap"})
        _, output = await sh(bwrap, probe)
        bwrap.close()
        assert "connected" not in output, output
    finally:
        listener.close()
        path.unlink()
        agent_dir.rmdir()
