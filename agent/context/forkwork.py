"""Half of a CPU-bound job in a forked child, while this process does the other half.

Exporting a large workspace is CPU work under the GIL (redacting and counting tens of megabytes); a forked child
shares every loaded byte and the tokenizer without pickling them, and on two cores halves the wait. Used only
where forking is safe: a process with no other threads (a fork copies one thread, and any lock another thread
held stays held in the child).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def can_fork() -> bool:
    """Is forking safe and worth it here (POSIX, this thread alone, more than one core to run on)?"""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return hasattr(os, "fork") and threading.active_count() == 1 and cores > 1


class Forked:
    """A job running in a forked child."""

    def __init__(self, pid: int, read_end: int) -> None:
        self._pid, self._read_end = pid, read_end

    def wait(self) -> bytes | None:
        """The job's bytes, or None if the child failed (the caller then does that part itself). Interrupted
        (Ctrl+C), it stops the child before passing the interruption on."""
        chunks = []
        try:
            while chunk := os.read(self._read_end, 1 << 20):
                chunks.append(chunk)
        except BaseException:
            self.kill()
            raise
        os.close(self._read_end)
        self._read_end = -1
        _, status = os.waitpid(self._pid, 0)
        self._pid = -1
        return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None

    def kill(self) -> None:
        """Stop the child and reap it (this process gave up on the work). Safe to call more than once."""
        if self._read_end != -1:
            os.close(self._read_end)
            self._read_end = -1
        if self._pid != -1:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = -1


def start(job: Callable[[], bytes]) -> Forked:
    """Run `job` in a forked child, which dies with this process."""
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers or flushes its buffers
        status = 1
        try:
            os.close(read_end)
            _die_with_parent(parent)
            view = memoryview(job())
            while view:
                view = view[os.write(write_end, view):]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return Forked(pid, read_end)


def _die_with_parent(parent: int) -> None:
    import ctypes.util  # in the child only

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above (not "is pid 1": it may be, in a container)
        os._exit(1)
