"""A PID namespace per command: when its init dies, the kernel kills everything in it, setsid or not.

unshare(CLONE_NEWPID) moves only the caller's future children into the new namespace. As root the launcher
spawns the command straight into a new namespace (agent.sandbox.initproc); otherwise the child hook forks once
more (`NamespaceSplit.split`): the grandchild becomes PID 1 of the namespace and goes on to exec the
command; the child Duet started stays outside, waits for it and exits as it did. That waiting process holds no
file descriptor of the command (in particular not subprocess's error pipe, or Duet would wait for the command to
end before `start` returned) and is invisible to the command (the command's /proc is the namespace's own).

Everything of the command dies together, with no time limit and nothing left for a reaper to chase:
- the command ends: its init (bash) exits and the kernel kills the rest before the waiting process returns;
- Duet kills the init (SIGKILL from outside the namespace cannot be ignored);
- Duet itself dies, even by SIGKILL: the waiting process gets its parent-death signal, and so does the init.

`process_limit`: the namespace's own `kernel.pid_max` (per PID namespace since Linux 6.14), written by the
init while it still has its capabilities: a fork bomb stops there, however it calls setsid. Before 6.14 the
sysctl is global (root would set the whole machine's limit), so it is never written there.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import threading

PROCESS_LIMIT = 1024
"""Processes and threads a command may have at once (its namespace's pid_max is one more)."""
CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG, SIGKILL = 1, 9
O_NONBLOCK = 0o4000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8


HELD_NAMESPACES = ("mnt", "pid_for_children", "user")


def hold_namespaces(pid: int) -> list[int]:
    """Fds holding the namespaces of the command whose waiting process is `pid`, so that its exit is not the last
    reference: tearing a mount or PID namespace down waits for an RCU grace period (milliseconds, more under
    load), which would otherwise delay every command's result. See `release_namespaces`."""
    fds = []
    for name in HELD_NAMESPACES:
        try:
            fds.append(os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            continue  # the command has ended already, or no such namespace here
    return fds


def release_namespaces(fds: list[int]) -> None:
    """Let go of `hold_namespaces` fds once the command is over: in a thread of its own, which the teardown
    then blocks instead of the caller."""
    if fds:
        threading.Thread(target=_close_all, args=(fds,), name="duet-namespace-release", daemon=True).start()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


PID_MAX_NAMESPACED = (6, 14)


def process_limit_available(release: str | None = None) -> bool:
    """Does this kernel keep a pid_max per PID namespace (Linux 6.14+)? Older ones have one for the machine."""
    numbers = (release or os.uname().release).split("-")[0].split(".")
    try:
        return (int(numbers[0]), int(numbers[1])) >= PID_MAX_NAMESPACED
    except (IndexError, ValueError):
        return False


@functools.cache
def load_libc() -> ctypes.CDLL:
    """The C library, loaded once: its function objects are looked up once too (hooks are built per command)."""
    return ctypes.CDLL(None, use_errno=True)


class NamespaceSplit:
    """The fork into a new PID namespace, and the private /proc of its init, prepared in the parent."""

    def __init__(self, process_limit: int | None = PROCESS_LIMIT) -> None:
        libc = load_libc()
        self._fork, self._waitpid, self._prctl = libc.fork, libc.waitpid, libc.prctl
        self._pipe2, self._read, self._close = libc.pipe2, libc.read, libc.close
        self._kill, self._signal, self._getpid = libc.kill, libc.signal, libc.getpid
        self._mount, self._open, self._write = libc.mount, libc.open, libc.write
        for fn in (self._fork, self._waitpid, self._prctl, self._pipe2, self._read, self._close, self._kill,
                   self._getpid, self._mount, self._open, self._write):
            fn.restype = ctypes.c_int
        self._fds = (ctypes.c_int * 2)()
        self._status = ctypes.c_int(0)
        self._byte = ctypes.create_string_buffer(1)
        self._pipe_flags = ctypes.c_int(os.O_CLOEXEC | O_NONBLOCK)
        self._death = (ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(SIGKILL), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0))
        self._proc = ctypes.c_char_p(b"proc")
        self._proc_dir = ctypes.c_char_p(b"/proc")
        self._proc_flags = ctypes.c_ulong(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        self._null = ctypes.c_char_p(None)
        self._pid_max_path = ctypes.c_char_p(b"/proc/sys/kernel/pid_max")
        if not process_limit_available():
            process_limit = None
        self.process_limit = process_limit
        limit = str(max(process_limit or 0, 300) + 1).encode()  # the kernel refuses a pid_max under 301
        self._limit = (ctypes.c_char_p(limit), ctypes.c_size_t(len(limit)))
        self._wronly = ctypes.c_int(os.O_WRONLY | os.O_CLOEXEC)

    def split(self) -> None:
        """After unshare(CLONE_NEWPID): returns only in the namespace's init; the caller's process waits for it
        and exits with its status (never returns). Raises OSError when the fork fails."""
        if self._pipe2(self._fds, self._pipe_flags) != 0:
            raise OSError("pipe2 failed")
        read_end, write_end = self._fds[0], self._fds[1]
        pid = self._fork()
        if pid < 0:
            raise OSError("fork into the PID namespace failed")
        if pid == 0:
            self._prctl(*self._death)
            self._close(write_end)
            # The waiting parent died before the death signal was armed: no one would ever kill us.
            if self._read(read_end, self._byte, 1) == 0:
                os._exit(128 + SIGKILL)
            self._close(read_end)
            return
        self._close(read_end)
        os.closerange(3, write_end)  # write_end stays open until we exit: the init's liveness check above
        os.closerange(write_end + 1, 1 << 20)
        while self._waitpid(pid, ctypes.byref(self._status), 0) != pid:
            if ctypes.get_errno() != errno.EINTR:
                os._exit(127)
        status = self._status.value
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            self._signal(sig, None)  # SIG_DFL, then die of the same signal
            self._kill(self._getpid(), sig)
            os._exit(128 + sig)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 127)

    def private_proc(self) -> None:
        """In the init: a /proc of this namespace only (other processes' command lines and environments out of
        sight), and the namespace's process limit. Raises OSError."""
        if self._mount(self._proc, self._proc_dir, self._proc, self._proc_flags, self._null) != 0:
            raise OSError("mounting a private /proc failed")
        if self.process_limit is None:
            return
        fd = self._open(self._pid_max_path, self._wronly)
        if fd < 0:
            raise OSError("open(/proc/sys/kernel/pid_max) failed")
        written = self._write(fd, *self._limit)
        self._close(fd)
        if written != self._limit[1].value:
            raise OSError("setting the process limit failed")
