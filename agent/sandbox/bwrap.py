"""The bubblewrap fallback: the same policy as mount namespaces, where Landlock is missing."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from agent.sandbox.paths import system_temp
from agent.sandbox.policy import SandboxPolicy
from tools.binaries import find_binary


@cache
def bwrap_path() -> str | None:
    """The bwrap binary, if it is installed and can make a sandbox here (containers often forbid it)."""
    path = find_binary("bwrap")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "true"], capture_output=True,
                            timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if ok else None


def bwrap_argv(binary: str, policy: SandboxPolicy, private_tmp: Path, cwd: Path, *, share_net: bool,
               hidden: tuple[Path, ...] = ()) -> list[str]:
    """The bwrap prefix confining one command to `policy`."""
    # A PID namespace: /proc shows only the command's own processes, and when bwrap dies with Duet
    # (--die-with-parent, even after kill -9) the kernel kills everything left in the namespace, setsid or not.
    argv = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--die-with-parent"]
    if policy.workspace_writable:
        for root in (system_temp(), Path("/dev/shm"), policy.workspace):
            if root.is_dir():
                argv += ["--bind", str(root), str(root)]
        for path in policy.protected():
            if path.exists():
                argv += ["--ro-bind", str(path), str(path)]
        home = policy.home
        if home and home.is_dir() and home != policy.workspace and home not in policy.workspace.parents:
            argv += ["--ro-bind", str(home), str(home)]
    if private_tmp.parent.name == "runs":
        argv += ["--tmpfs", str(private_tmp.parent)]  # other runs' private temp dirs
    argv += ["--bind", str(private_tmp), str(private_tmp)]
    for path in (*policy.hidden(), *hidden):
        if path.is_dir() and not path.is_symlink():
            argv += ["--tmpfs", str(path)]
        elif os.path.lexists(path):
            argv += ["--ro-bind", "/dev/null", str(path)]
    if not (policy.network or share_net):
        argv.append("--unshare-net")
        argv += _hide_agent_sockets()
    return [*argv, "--chdir", str(cwd), "--"]


# Pathname Unix sockets of agents and daemons that act with the user's authority (docker, ssh-agent, gpg-agent,
# the D-Bus session bus, whose systemd-run --user would escape any sandbox; X11). Landlock cannot refuse a
# connect() to them; in a mount namespace they can be covered. Only with the network off: with it on, the
# user asked commands to reach things.
AGENT_SOCKETS = ("/run/user", "/var/run/docker.sock", "/run/docker.sock", "/tmp/.X11-unix", "/run/dbus")
AGENT_SOCKET_GLOBS = ("/tmp/ssh-*", "/tmp/gpg-*", "/tmp/tmux-*")


def _hide_agent_sockets() -> list[str]:
    import glob

    argv: list[str] = []
    for path in (*AGENT_SOCKETS, *(p for pattern in AGENT_SOCKET_GLOBS for p in glob.glob(pattern))):
        if os.path.isdir(path) and not os.path.islink(path):
            argv += ["--tmpfs", path]
        elif os.path.exists(path):
            argv += ["--ro-bind", "/dev/null", path]
    return argv
