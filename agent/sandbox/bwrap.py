"""The bubblewrap fallback: the same policy as mount namespaces, where Landlock is missing."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from agent.sandbox.paths import system_temp
from agent.sandbox.policy import SandboxPolicy


@cache
def bwrap_path() -> str | None:
    """The bwrap binary, if it is installed and can make a sandbox here (containers often forbid it)."""
    from agent.gitsafe import helper_binary  # outside every workspace Duet let commands write in, too

    path = helper_binary("bwrap")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "true"], capture_output=True,
                            timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if ok else None


def bwrap_argv(binary: str, policy: SandboxPolicy, private_tmp: Path, cwd: Path, *, share_net: bool,
               hidden: tuple[Path, ...] = (), seccomp_fd: int | None = None) -> list[str]:
    """The bwrap prefix confining one command to `policy` (`seccomp_fd`: a BPF program bwrap installs)."""
    # A PID namespace: /proc shows only the command's own processes, and when bwrap dies with Duet
    # (--die-with-parent, even after kill -9) the kernel kills everything left in the namespace, setsid or not.
    argv = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--die-with-parent"]
    if os.geteuid() == 0:
        argv += ["--cap-drop", "ALL"]  # as root bwrap keeps every capability: umount what hides the secrets...
    home = policy.home
    if policy.workspace_writable:
        for root in (system_temp(), Path("/dev/shm"), policy.workspace):
            if root.is_dir():
                argv += ["--bind", str(root), str(root)]
    if policy.home_hidden() and home is not None:
        # HOME hidden whole (an empty tmpfs; after the temp dir's bind, which may hold it), its toolchain dirs
        # bound back read-only, and the workspace when it lies in HOME.
        argv += ["--tmpfs", str(home)]
        for path in policy.home_allowed():
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_relative_to(home):
                argv += ["--ro-bind", str(path), str(path)]
        if home in policy.workspace.parents:
            argv += ["--bind" if policy.workspace_writable else "--ro-bind", str(policy.workspace),
                     str(policy.workspace)]
    if policy.workspace_writable:
        for path in policy.protected():
            if path.exists():
                argv += ["--ro-bind", str(path), str(path)]
        if home and home.is_dir() and home != policy.workspace and home not in policy.workspace.parents \
                and not policy.home_hidden():
            argv += ["--ro-bind", str(home), str(home)]
    if private_tmp.parent.name == "runs":
        argv += ["--tmpfs", str(private_tmp.parent)]  # other runs' private temp dirs
    argv += ["--bind", str(private_tmp), str(private_tmp)]
    for path in (*policy.hidden(), *hidden):
        if path == home and policy.home_hidden():
            continue
        if path.is_dir() and not path.is_symlink():
            argv += ["--tmpfs", str(path)]
        elif os.path.lexists(path):
            argv += ["--ro-bind", "/dev/null", str(path)]
    if not (policy.network or share_net):
        argv.append("--unshare-net")
        argv += _hide_agent_sockets()
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
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
