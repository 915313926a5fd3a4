"""How a stdio server is started on Linux: under a small launcher that asks the kernel to signal it when the Duet
thread that started it is gone (PR_SET_PDEATHSIG), and then kills the server's whole process group (the SDK starts
each server in its own), so a session killed outright (SIGKILL, a crash) leaves no server, nor any program the
server started, behind. Elsewhere the server is started directly."""

from __future__ import annotations

import sys

# Run as `python -I -S -c LAUNCHER command args...`: argv[1:] is the server's command line. The launcher stays
# the group's leader and waits for the server, exiting with its status. A SIGTERM the SDK sends the group when
# it stops the server reaches the server too, and the launcher keeps waiting; one that comes from the kernel
# because Duet is gone (the parent changed) kills the group.
LAUNCHER = """
import ctypes, os, signal, sys
parent = os.getppid()
def gone(*_):
    if os.getppid() != parent:
        os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, gone)
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != parent:
    sys.exit(1)
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as exc:
        print(f"cannot run {sys.argv[1]}: {exc.strerror}", file=sys.stderr)
    os._exit(127)
os.close(0)
os.close(1)  # the server's stdout ends when the server does
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def launched(command: str, args: list[str]) -> tuple[str, list[str]]:
    """The command line that starts `command args` under the launcher (unchanged off Linux)."""
    if not sys.platform.startswith("linux"):
        return command, args
    return sys.executable, ["-I", "-S", "-c", LAUNCHER, command, *args]
