"""Issue 23, items 5, 7 and 8: what a command leaves running, what it can read of HOME, the keyrings and other
processes, and the blank that covers secret files. Real processes, the real kernel, no mocks."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.sandbox.bwrap import bwrap_path
from agent.sandbox.initproc import InitProcess
from agent.sandbox.initproc import available as initproc_available
from agent.sandbox.landlock import abi_version
from agent.sandbox.mountns import available
from agent.sandbox.pidns import PROCESS_LIMIT, process_limit_available
from agent.sandbox.seccomp import unavailable_reason
from tests.helpers import sh, shell_session
from tests.test_sandbox import running
from tools.shell import ShellArgs, ShellTool

# exclusive: these tests count and kill the machine's processes and bound a fork bomb; under pytest-xdist they run
# while no other test does (tests/conftest.py).
pytestmark = [pytest.mark.skipif(abi_version() < 1, reason="this kernel has no Landlock"), pytest.mark.exclusive]
needs_pid_ns = pytest.mark.skipif(bool(available(pid=True)), reason=f"no PID namespace: {available(pid=True)}")
needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed or cannot run here")


@pytest.fixture
def box(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "systmp"))
    (tmp_path / "systmp").mkdir()
    return repo


def _gone(tag: str, wait_s: float = 10.0) -> list[int]:
    """Processes tagged `tag` still alive once the kernel had `wait_s` to finish killing (then killed here)."""
    deadline = time.monotonic() + wait_s
    while (left := running(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


# Each process forks a child and exits at once, for `seconds`: the live one is never the same for long, and its
# parent is gone before anyone can find it by its parent.
CHAIN = ("import os, sys, time\nend = time.time() + float(sys.argv[1])\n"
         "while time.time() < end:\n    if os.fork():\n        os._exit(0)\n    time.sleep(0.002)\n")


@needs_pid_ns
async def test_a_fork_and_exit_chain_leaves_no_survivor_after_its_command(box: Path) -> None:
    (box / "chain.py").write_text(CHAIN)
    session = shell_session(box, approval="full-auto")
    tag = "duet-chain-7731"
    await sh(session, f"setsid python3 chain.py 8 {tag} & sleep 0.3")
    time.sleep(0.5)  # a survivor keeps forking: let it show itself
    assert not running(tag), "a fork-and-exit chain outlived its command"
    session.close()
    assert not _gone(tag, wait_s=0)


STAND_IN = """
import asyncio, pathlib, sys
from agent.sandbox.launcher import SandboxLauncher
from agent.sandbox.policy import SandboxPolicy
ws = pathlib.Path(sys.argv[1])
async def main():
    launcher = SandboxLauncher(SandboxPolicy(enabled=True, workspace=ws, workspace_writable=True, network=False,
                                             mechanism=sys.argv[3], home=ws / "home"))
    assert launcher.mechanism == sys.argv[3], launcher.detail
    await launcher.start(["bash", "-c", pathlib.Path(sys.argv[2]).read_text()], cwd=ws, stdout=2, stderr=2)
    print("started", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


# What adopts Duet's orphans when Duet dies: like systemd (or a container's init) it reaps them, never kills them.
ADOPTER = """
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
duet = subprocess.Popen(sys.argv[1:])
print(duet.pid, flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.05)
"""


def _kill_duet_mid_command(workspace: Path, command: str, tag: str, mechanism: str = "landlock") -> list[int]:
    """Start `command` from a stand-in Duet, SIGKILL that Duet once `tag` runs; what of `tag` survives."""
    script = workspace.parent / "command.sh"  # not in the stand-in's own command line, which holds no tag then
    script.write_text(command)
    adopter = subprocess.Popen([sys.executable, "-c", ADOPTER, sys.executable, "-c", STAND_IN, str(workspace),
                                str(script), mechanism], stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    try:
        assert adopter.stdout is not None
        duet = int(adopter.stdout.readline())
        assert adopter.stdout.readline() == b"started\n"
        deadline = time.monotonic() + 10
        while not running(tag) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running(tag), "the command never started"
        os.kill(duet, signal.SIGKILL)
        return _gone(tag, wait_s=3)
    finally:
        adopter.kill()
        adopter.wait()


@needs_pid_ns
def test_a_fork_and_exit_chain_dies_with_a_killed_duet(box: Path) -> None:
    (box / "chain.py").write_text(CHAIN)
    tag = "duet-chain-7732"
    assert not _kill_duet_mid_command(box, f"setsid python3 chain.py 10 {tag} & sleep 60", tag)


@needs_pid_ns
def test_a_setsid_daemon_dies_with_a_killed_duet(box: Path) -> None:
    assert not _kill_duet_mid_command(box, "env -i setsid sh -c 'sleep 4751 & sleep 4752' & sleep 60", "sleep\x00475")


# A binary tree of setsid'd shells, 2**11 - 1 processes if nothing stops it: finite, so that the test stays
# bearable for the machine even where nothing contains it.
TREE = ('d=$1\nif [ "$d" -le 0 ]; then exec sleep 4761; fi\n'
        'setsid sh tree.sh $((d-1)) &\nsetsid sh tree.sh $((d-1)) &\nwait\n')


@needs_pid_ns
@pytest.mark.skipif(not process_limit_available(), reason="no pid_max per PID namespace before Linux 6.14")
async def test_a_setsid_fork_bomb_is_bounded_and_reported_killed(box: Path) -> None:
    (box / "tree.sh").write_text(TREE)
    session = shell_session(box, approval="full-auto")
    peak = 0
    task = asyncio.create_task(ShellTool().run(ShellArgs(command="sh tree.sh 10 2>/dev/null", timeout_s=6),
                                               session.tool_context))
    while not task.done():
        peak = max(peak, len(running("tree.sh")) + len(running("sleep\x004761")))
        await asyncio.sleep(0.1)
    result = task.result()
    assert result.data["timed_out"] and "killed" in result.output, result.output
    assert peak <= PROCESS_LIMIT, f"{peak} processes at once"
    left = _gone("sleep\x004761", wait_s=0) + _gone("tree.sh", wait_s=0)
    assert not left, f"{len(left)} processes outlived the command"
    session.close()


@needs_pid_ns
async def test_commands_see_only_their_own_processes(box: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--token=cnry-cmdline-0501"])
    try:
        session = shell_session(box, approval="full-auto")
        code, output = await sh(session, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo; "
                                         "echo processes=$(ls /proc | grep -c '^[0-9]')")
        assert code == 0 and "cnry-cmdline-0501" not in output
        assert int(output.rsplit("processes=", 1)[1].split()[0]) < 10
        # the command still sees itself
        code, output = await sh(session, "cat /proc/self/cmdline | tr '\\0' ' '")
        assert code == 0 and "cat" in output
        session.close()
    finally:
        other.kill()
        other.wait()


KEYRING = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr = {'x86_64': (248, 250), 'aarch64': (217, 219)}[__import__('platform').machine()]
key = libc.syscall(nr[1], 10, -4, b'user', b'duet-canary-key', 0)  # KEYCTL_SEARCH in @u
buf = ctypes.create_string_buffer(64)
got = libc.syscall(nr[1], 11, ctypes.c_long(key), buf, 64) if key > 0 else -1  # KEYCTL_READ
print('read', buf.raw[:got] if got > 0 else b'')
made = libc.syscall(nr[0], b'user', b'duet-planted', b'x', 1, -4)
print('add_key', 'refused' if made < 0 else 'ALLOWED', ctypes.get_errno())
"""


def _add_user_key(payload: bytes) -> int | None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    nr = {"x86_64": 248, "aarch64": 217}.get(os.uname().machine)
    if nr is None:
        return None
    key = libc.syscall(nr, b"user", b"duet-canary-key", payload, len(payload), -4)
    return int(key) if key > 0 else None


@pytest.mark.skipif(bool(unavailable_reason()), reason=f"no seccomp here: {unavailable_reason()}")
@pytest.mark.parametrize("network", [False, True])
async def test_keyrings_are_out_of_reach_network_on_or_off(box: Path, network: bool) -> None:
    if _add_user_key(b"cnry-keyring-0601") is None:
        pytest.skip("no user keyring here")
    (box / "keys.py").write_text(KEYRING)
    session = shell_session(box, approval="full-auto", sandbox={"network": network})
    code, output = await sh(session, "python3 keys.py")
    assert code == 0, output
    assert "cnry-keyring-0601" not in output and "add_key refused" in output
    session.close()


HOME_CANARIES = {
    ".bash_history": "curl -H 'Authorization: cnry-history-0701'",
    ".docker/config.json": '{"auths": {"r": {"auth": "cnry-docker-0702"}}}',
    ".docker/contexts/meta.json": "cnry-dockerctx-0703",
    ".m2/settings.xml": "<password>cnry-m2-0704</password>",
    ".cache/huggingface/token": "hf_cnryhub0705",
    ".config/sops/age/keys.txt": "AGE-SECRET-KEY-cnry0706",
    ".pulumi/credentials.json": '{"accessToken": "cnry-pulumi-0707"}',
    ".config/gcloud/credentials.db": "cnry-gcloud-0708",
    "notes.txt": "cnry-notes-0709",
}
HOME_TOOLCHAIN = {".cargo/bin/tool": "toolchain-ok-1", ".gitconfig": "[user]\n\tname = toolchain-ok-2\n",
                  ".m2/repository/lib.pom": "toolchain-ok-3", ".cache/pip/x": "toolchain-ok-4"}


def _plant(home: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)


def _home_command() -> str:
    names = " ".join(f"~/{n}" for n in (*HOME_CANARIES, *HOME_TOOLCHAIN, ".myconf/x"))
    return f"for f in {names}; do cat $f; echo; done; ls -a ~; cat README.md"


@pytest.mark.parametrize("mechanism", ["landlock", pytest.param("bwrap", marks=needs_bwrap)])
@pytest.mark.parametrize("approval", ["read-only", "full-auto"])
async def test_home_is_hidden_but_its_toolchain_dirs(box: Path, isolated_home: Path, mechanism: str,
                                                     approval: str) -> None:
    _plant(isolated_home, {**HOME_CANARIES, **HOME_TOOLCHAIN, ".myconf/x": "user-allowed-5"})
    session = shell_session(box, approval=approval, sandbox={"mechanism": mechanism, "home_allow": [".myconf"]})
    assert session.launcher.mechanism == mechanism
    _, output = await sh(session, _home_command())
    assert not [c for c in HOME_CANARIES.values() if c in output], output
    for name in ("toolchain-ok-1", "toolchain-ok-2", "toolchain-ok-3", "toolchain-ok-4", "user-allowed-5", "hello"):
        assert name in output, output
    if approval == "full-auto":
        code, _ = await sh(session, "echo made > made.txt")
        assert code == 0 and (box / "made.txt").read_text() == "made\n"
    session.close()


async def test_a_workspace_inside_home_stays_usable(isolated_home: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _plant(isolated_home, HOME_CANARIES)
    work = isolated_home / "src" / "proj"
    work.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    (work / "a.txt").write_text("inside-home-ok")
    session = shell_session(work, approval="full-auto")
    _, output = await sh(session, f"cat a.txt && echo new > b.txt && git status --short; {_home_command()}")
    assert "inside-home-ok" in output and "b.txt" in output, output
    assert not [c for c in HOME_CANARIES.values() if c in output], output
    session.close()


def test_an_untrusted_project_cannot_extend_home_allow(repo: Path, isolated_home: Path) -> None:
    from agent.config import load_config
    from agent.sandbox.policy import HOME_ALLOW, SandboxPolicy

    (repo / ".duet").mkdir()
    (repo / ".duet/config.toml").write_text('[sandbox]\nhome_allow = [".docker", ".ssh"]\n')
    config = load_config(repo, {}, {"HOME": str(isolated_home)})
    policy = SandboxPolicy.from_config(config, repo, {"HOME": str(isolated_home)})
    assert policy.home_allow == HOME_ALLOW


SWAP = """
import glob, os, sys
target, places = sys.argv[1], sys.argv[2:]
for place in places:
    for blank in glob.glob(os.path.join(place, 'duet-blank-*', 'blank')) + glob.glob(os.path.join(place, 'blank')):
        try:
            os.unlink(blank)
            os.symlink(target, blank)
            print('swapped', blank)
        except OSError as e:
            print('refused', blank, e.errno)
"""


@pytest.mark.skipif(bool(available()), reason=f"no mount namespace: {available()}")
async def test_a_swapped_blank_never_shows_what_it_points_to(box: Path, tmp_path: Path, isolated_home: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", os.environ["TMPDIR"])  # the shared temp dir commands may write
    (box / ".env").write_text("API_TOKEN=cnry-env-0801\n")
    target = tmp_path / "id_rsa"  # readable by Duet, and (like ~/.ssh/id_rsa was) what the attack wants
    target.write_text("cnry-idrsa-0802")
    (box / "swap.py").write_text(SWAP)
    session = shell_session(box, approval="full-auto")
    runs = session.launcher.private_tmp.parent
    await sh(session, "cat .env")  # the blank exists from here on
    # A command swaps the blank for a link where it can: the system temp dir (where Duet kept it) and Duet's own
    # dir (where it cannot write). Then a process outside the sandbox swaps it wherever it is.
    await sh(session, f"python3 swap.py {target} $(dirname $TMPDIR) {os.environ['TMPDIR']} {runs}")
    _, output = await sh(session, "cat .env")
    assert "cnry-idrsa-0802" not in output and "cnry-env-0801" not in output
    subprocess.run([sys.executable, str(box / "swap.py"), str(target), os.environ["TMPDIR"], str(runs)], check=True)
    _, output = await sh(session, "cat .env; echo done")
    assert "cnry-idrsa-0802" not in output and "cnry-env-0801" not in output and "done" in output
    session.close()
    assert not list(Path(os.environ["TMPDIR"]).glob("duet-blank-*"))


@pytest.mark.skipif(bool(available()), reason=f"no mount namespace: {available()}")
def test_no_blank_is_left_in_the_temp_dir_by_a_killed_duet_and_stale_ones_go(box: Path) -> None:
    (box / ".env").write_text("API_TOKEN=cnry-env-0803\n")
    temp = Path(os.environ["TMPDIR"])
    stale = temp / "duet-blank-stale1"
    stale.mkdir()
    (stale / "blank").touch()
    os.utime(stale, (time.time() - 3 * 86400,) * 2)
    fresh = temp / "duet-blank-inuse1"  # maybe another Duet's: left alone
    fresh.mkdir()
    assert not _kill_duet_mid_command(box, "cat .env; sleep 4771", "sleep\x004771")
    assert [p.name for p in temp.glob("duet-blank-*")] == ["duet-blank-inuse1"]


def test_the_machine_wide_pid_max_is_never_written_on_older_kernels() -> None:
    assert not process_limit_available("6.8.0-45-generic") and not process_limit_available("5.15.0")
    assert process_limit_available("6.14.2") and process_limit_available("6.18.44-fc-v1300")
    assert not process_limit_available("garbage")


def _ns(pid: int | str) -> str:
    return os.readlink(f"/proc/{pid}/ns/pid")


@needs_pid_ns
@pytest.mark.skipif(not initproc_available(), reason="needs root: children born into a new PID namespace")
async def test_as_root_a_command_is_born_init_and_duets_next_children_stay_home(box: Path) -> None:
    """The fast path (no second fork): the command is PID 1 of its own namespace, and the thread that spawned
    it is back in Duet's namespace at once, so Duet's next child (git, ripgrep) is not born inside it."""
    session = shell_session(box, approval="full-auto")
    launcher = session.launcher
    try:
        proc = await launcher.start(["sleep", "30"], cwd=box, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        assert isinstance(proc, InitProcess)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert next(line for line in status.splitlines() if line.startswith("NSpid:")).split()[-1] == "1"
        assert _ns(proc.pid) != _ns("self")
        after = subprocess.Popen(["sleep", "30"])
        try:
            assert _ns(after.pid) == _ns("self")
        finally:
            after.kill()
            after.wait()
        launcher.finish(proc)
        assert await proc.wait() == -signal.SIGKILL
    finally:
        session.close()


@needs_pid_ns
async def test_a_command_can_signal_itself_as_it_would_outside(box: Path) -> None:
    """The command is not its namespace's init (the kernel would drop the signals it sends itself): `kill -TERM
    $$` ends it, and a Python program still gets its KeyboardInterrupt."""
    session = shell_session(box, approval="full-auto")
    try:
        code, out = await sh(session, "kill -TERM $$; echo survived")
        assert code == 143 and "survived" not in out
        code, out = await sh(session, "python3 -c 'import os, signal; os.kill(os.getpid(), signal.SIGINT); "
                                      "print(\"survived\")'")
        assert code == 130 and "survived" not in out and "KeyboardInterrupt" in out
    finally:
        session.close()
