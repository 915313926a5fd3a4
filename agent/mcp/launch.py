"""The first thing a stdio server runs (Linux): asks the kernel to kill it when the Duet thread that started it
is gone (PR_SET_PDEATHSIG), so a session killed outright (SIGKILL, a crash) leaves no server behind; then becomes
the server (exec). Elsewhere the server is started directly."""

from __future__ import annotations

import sys

# Run as `python -I -S -c LAUNCHER command args...`: argv[1:] is the server's command line.
LAUNCHER = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except Exception:
    pass
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as exc:
    print(f"cannot run {sys.argv[1]}: {exc.strerror}", file=sys.stderr)
    sys.exit(127)
"""


def launched(command: str, args: list[str]) -> tuple[str, list[str]]:
    """The command line that starts `command args` under the launcher (unchanged off Linux)."""
    if not sys.platform.startswith("linux"):
        return command, args
    return sys.executable, ["-I", "-S", "-c", LAUNCHER, command, *args]
