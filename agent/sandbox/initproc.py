"""Starting a command directly as PID 1 of a new PID namespace, without the child's second fork (root only).

unshare(CLONE_NEWPID) moves only the caller's *future children* into a new namespace, and it is per thread. As
root, the thread that spawns can therefore unshare, fork the command (which is born PID 1 of the new namespace)
and setns() back to its own namespace at once: no other fork of this thread can happen in between, because
`subprocess.Popen` starts the child synchronously, and other threads are not affected. This saves the second
fork of Duet's whole address space in the child (pidns.NamespaceSplit), about half of the sandbox's per-command
cost. Without CAP_SYS_ADMIN (an unprivileged user needs a user namespace, which a threaded process cannot
unshare) the launcher keeps the split.

`InitProcess` is the asyncio-style handle on such a command: `pid`, `returncode`, `wait()` (a pidfd watched by
the event loop, so no child watcher is involved), `communicate()` (no pipes: the fast path is only taken when
output goes to file descriptors), and signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import subprocess
from collections.abc import Iterator

from agent.sandbox.pidns import CLONE_NEWPID, load_libc


@functools.cache
def _own_namespace() -> int:
    """An fd on this process's own PID namespace (kept open: setns() back to it after each spawn)."""
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


@contextlib.contextmanager
def children_in_new_pid_namespace() -> Iterator[None]:
    """The next child this thread forks is PID 1 of a new namespace; afterwards its children are ours again."""
    libc = load_libc()
    if libc.unshare(ctypes.c_int(CLONE_NEWPID)) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID) failed")
    try:
        yield
    finally:
        if libc.setns(ctypes.c_int(_own_namespace()), ctypes.c_int(CLONE_NEWPID)) != 0:
            # Every later child of this thread would land in the command's namespace: never go on like that.
            os._exit(70)


@functools.cache
def available() -> bool:
    """Can this process spawn children straight into new PID namespaces (root, unshare and setns allowed)?"""
    if os.geteuid() != 0:
        return False
    try:
        with children_in_new_pid_namespace():
            pass
    except OSError:
        return False
    return True


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class InitProcess:
    """A command started by `subprocess.Popen` as its namespace's init, awaited like an asyncio process."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        if self._popen.poll() is not None:
            return self._popen.returncode
        loop = asyncio.get_running_loop()
        fd = os.pidfd_open(self.pid)
        try:
            ended = loop.create_future()
            loop.add_reader(fd, _settle, ended)
            try:
                await ended
            finally:
                loop.remove_reader(fd)
        finally:
            os.close(fd)
        return self._popen.wait()

    async def communicate(self, input: bytes | None = None) -> tuple[None, None]:
        await self.wait()
        return None, None

    def send_signal(self, signum: int) -> None:
        self._popen.send_signal(signum)

    def kill(self) -> None:
        self._popen.kill()

    def terminate(self) -> None:
        self._popen.terminate()
