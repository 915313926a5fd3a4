"""How fast `agent --help` and `agent --version` answer (the installed command, cold processes).

Run: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def measure(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    agent = shutil.which("agent")
    if not agent:
        print("the `agent` command is not installed", file=sys.stderr)
        return 2
    baseline = measure([sys.executable, "-c", "pass"], args.runs)
    print(f"{'command':<18} {'median':>8} {'min':>8} {'max':>8}")
    print(f"{'python -c pass':<18} {statistics.median(baseline) * 1000:7.0f}ms {min(baseline) * 1000:7.0f}ms "
          f"{max(baseline) * 1000:7.0f}ms")
    for flag in ("--help", "--version"):
        times = measure([agent, flag], args.runs)
        print(f"{'agent ' + flag:<18} {statistics.median(times) * 1000:7.0f}ms {min(times) * 1000:7.0f}ms "
              f"{max(times) * 1000:7.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
