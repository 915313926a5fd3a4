"""The ripgrep binary and one run of it.

The binary: the one installed beside this Python (the pinned `ripgrep` wheel puts `rg` in the environment's bin
directory, which is not on PATH when `.venv/bin/agent` is run without activating), then PATH; never one a command
could have written (see tools.binaries): search runs ripgrep in Duet's own, unconfined process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tools.binaries import find_binary
from tools.memfile import memory_file


def ripgrep(workspace: Path) -> str | None:
    """The resolved path of an `rg` outside `workspace`, or None when there is none (search falls back to Python)."""
    return find_binary("rg", workspace, beside_python=True)


async def run_rg(cmd: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """ripgrep's exit code, output and log. Both go to in-memory files, not pipes: ripgrep writes its output a
    file at a time and its log in many small writes, and waking a pipe reader for each cost a third of a search
    on a big tree (hundreds of wake-ups, against one wait for the process)."""
    with memory_file("duet-rg") as out, memory_file("duet-rg-log") as log:
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
