"""A multi-file `apply_patch` killed with -9 at the worst moment before its renames changes no file, and the
next patch of the same files sweeps what the killed one staged (real processes, real files)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tools.staged import FAULT_ENV

FILES = 30
APPLY = """
import asyncio, sys
from pathlib import Path
from tools.apply_patch import ApplyPatchArgs, ApplyPatchTool
from tools.base import ToolContext
root = Path(sys.argv[1])
result = asyncio.run(ApplyPatchTool().run(ApplyPatchArgs(patch=sys.stdin.read()), ToolContext(root=root)))
print(result.output)
"""


def _patch() -> str:
    hunks = [f"*** Update File: pkg/m{i:02}.py\n@@\n-value = {i}\n+value = {i + 100}\n" for i in range(FILES)]
    return "*** Begin Patch\n" + "".join(hunks) + "*** Add File: pkg/new.py\n+added = True\n*** End Patch\n"


def _apply(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", APPLY, str(root)], input=_patch(), capture_output=True, text=True,
                          env=env, timeout=60)


def test_a_patch_killed_before_its_renames_changes_nothing_and_its_leftovers_are_swept(tmp_path: Path) -> None:
    import os

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for i in range(FILES):
        (pkg / f"m{i:02}.py").write_text(f"value = {i}\n")
    before = {p.name: p.read_bytes() for p in pkg.iterdir()}

    killed = _apply(tmp_path, {**os.environ, FAULT_ENV: "kill-before-rename"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = sorted(p.name for p in pkg.iterdir() if p.name not in before)
    assert {p.name: p.read_bytes() for p in pkg.iterdir() if p.name in before} == before  # zero files changed
    assert "new.py" not in left
    assert all(name.endswith(".duet-tmp") for name in left)  # staged unnamed: nothing; named (no O_TMPFILE): swept

    done = _apply(tmp_path, {k: v for k, v in os.environ.items() if k != FAULT_ENV})
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in pkg.iterdir()) == sorted([*before, "new.py"])  # nothing of the killed run left
    assert all((pkg / f"m{i:02}.py").read_text() == f"value = {i + 100}\n" for i in range(FILES))
