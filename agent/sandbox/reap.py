"""Finding and killing every process a command left behind, including daemons that called setsid.

With a PID namespace per command (see pidns) `kill_namespace` does it all: killing the namespace's init makes
the kernel kill the rest, with no time limit and no race; the reaper below is the fallback where there is none.

Duet is a child subreaper (prctl), so a daemon whose parent exits becomes Duet's child instead of init's.
After a command, its process group is killed, then every child of Duet that belongs to the command (same
process group, or the command's marker in its environment, or a sandboxed process: NoNewPrivs, which no
exec can clear) is killed and waited for, until nothing of it is left.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POLL_S = 0.005
GIVE_UP_S = 2.0


def own_children() -> list[int]:
    """Direct children of this process (all threads), zombies included."""
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of `pid`."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return fields[0], int(fields[2])


def _marked(pid: int, marker: bytes) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _no_new_privs(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nNoNewPrivs:\t1" in status


def belongs(pid: int, pgid: int, marker: bytes, sandboxed: bool) -> bool:
    stat = _stat(pid)
    if stat is None:
        return False
    return stat[1] == pgid or _marked(pid, marker) or (sandboxed and _no_new_privs(pid))


NAMESPACE_WAIT_S = 30.0


def kill_namespace(pid: int) -> bool:
    """Kill the PID namespace whose init is the child of `pid` (the waiting process Duet started), and wait until
    the namespace is empty: `pid` exits only once the kernel has reaped everything in it. False when `pid` has
    no child (the command ended by itself: its namespace is empty already)."""
    try:
        inits = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return False
    for init in inits:
        try:
            os.kill(init, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + NAMESPACE_WAIT_S
    while (stat := _stat(pid)) is not None and stat[0] != "Z" and time.monotonic() < deadline:
        time.sleep(POLL_S)
    return bool(inits)


def wait_for_zombie(pid: int) -> None:
    """After SIGKILL to the init of a namespace (our child, not yet waited for, so its pid cannot be reused):
    wait until it is a zombie, which it becomes only once the kernel has killed and reaped everything else in
    its namespace."""
    deadline = time.monotonic() + NAMESPACE_WAIT_S
    while (stat := _stat(pid)) is not None and stat[0] != "Z" and time.monotonic() < deadline:
        time.sleep(POLL_S)


def reap(pgid: int, marker: str, *, sandboxed: bool, keep: frozenset[int] = frozenset()) -> int:
    """Kill what is left of the command whose group is `pgid`; returns how many processes were killed.

    `keep`: children that must not be touched (other commands still running).
    """
    mark = f"{marker}\0".encode()
    killed = 0
    deadline = time.monotonic() + GIVE_UP_S
    while True:
        group_alive = _signal_group(pgid)
        strays = [pid for pid in own_children() if pid not in keep and belongs(pid, pgid, mark, sandboxed)]
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if (not group_alive and not strays) or time.monotonic() > deadline:
            return killed
        time.sleep(POLL_S)


def _signal_group(pgid: int) -> bool:
    """SIGKILL the group; False when it has no member left."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
