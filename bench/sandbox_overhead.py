"""What the sandbox costs per command: `true` spawned, waited for and reaped, sandboxed vs unsandboxed.

Both sides go through the same SandboxLauncher code path (start → wait → finish), in the same workspace,
interleaved run by run so machine load hits both alike; only the policy differs (sandbox on: Landlock ruleset
built in the parent + mount and PID namespaces (as root the command is born PID 1 of its namespace; otherwise
the child forks a second time) + a private /proc + seccomp + restrict_self in the child; sandbox off: the same
preexec hook without them).
Two reference points are printed too: a bare asyncio spawn with no preexec_fn at all (CPython then uses
vfork/posix_spawn instead of fork), and the "tiny launcher" alternative to preexec_fn: re-exec through a
minimal Python (`python -I -S -c`), whose start-up alone is the floor of that design.

Run: python bench/sandbox_overhead.py [--runs N] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.sandbox.landlock import abi_version
from agent.sandbox.launcher import SandboxLauncher
from agent.sandbox.policy import SandboxPolicy


def _workspace(path: str | None) -> Path:
    if path:
        return Path(path).resolve()
    root = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i in range(20):
        (root / f"file{i}.py").write_text("x = 1\n")
    (root / "src").mkdir()
    (root / ".duet").mkdir()
    return root


async def _timed(launcher: SandboxLauncher | None, argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    if launcher is None:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                    start_new_session=True)
        await proc.wait()
    else:
        proc = await launcher.start(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await proc.wait()
        launcher.finish(proc)
    assert proc.returncode == 0, argv
    return (time.perf_counter() - started) * 1000


async def run(runs: int, workspace: Path) -> dict[str, list[float]]:
    home = Path(os.environ.get("HOME", "/")).resolve()
    policy = SandboxPolicy(enabled=True, workspace=workspace, workspace_writable=True, network=False, home=home)
    on = SandboxLauncher(policy)
    off = SandboxLauncher(SandboxPolicy(enabled=False, workspace=workspace, workspace_writable=True, network=False,
                                        home=home))
    print(f"sandbox on: {on.info().summary()}")
    true = ["/bin/true"]
    launcher_alt = [sys.executable, "-I", "-S", "-c", "import os; os.execv('/bin/true', ['true'])"]
    times: dict[str, list[float]] = {"on": [], "off": [], "bare": [], "python-launcher": []}
    for _ in range(5):  # warm caches
        await _timed(on, true, workspace)
        await _timed(off, true, workspace)
    for _ in range(runs):
        times["on"].append(await _timed(on, true, workspace))
        times["off"].append(await _timed(off, true, workspace))
        times["bare"].append(await _timed(None, true, workspace))
        times["python-launcher"].append(await _timed(None, launcher_alt, workspace))
    on.close()
    off.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workspace", help="workspace to sandbox (default: a temporary repo with 22 entries)")
    args = parser.parse_args()
    if abi_version() < 1:
        print("this kernel has no Landlock; nothing to measure")
        return 1
    workspace = _workspace(args.workspace)
    try:
        times = asyncio.run(run(args.runs, workspace))
    finally:
        if not args.workspace:
            shutil.rmtree(workspace, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in times.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] for name, values in times.items()}
    print(f"{args.runs} interleaved runs of `true`, spawn to exit and reaped (ms): median / p90")
    print(f"  sandboxed (Landlock ABI {abi_version()} + seccomp)  {med['on']:6.2f} / {p90['on']:6.2f}")
    print(f"  unsandboxed (same launcher, sandbox off)  {med['off']:6.2f} / {p90['off']:6.2f}")
    print(f"  reference: bare spawn, no preexec_fn       {med['bare']:6.2f} / {p90['bare']:6.2f}")
    print(f"  reference: python -I -S launcher + exec    {med['python-launcher']:6.2f} / "
          f"{p90['python-launcher']:6.2f}")
    overhead = statistics.median(a - b for a, b in zip(times["on"], times["off"], strict=True))
    print(f"median per-command sandbox overhead: {overhead:.2f} ms (target < 5 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
