"""What the session's record of its changes costs (agent.checkpoint): per file-tool write (the edit lock, the
copy of the file's first state and the manifest, synced before the write) and per shell command (a snapshot of
the work tree before and after it, and the commit keeping the first reachable), in a git repository of
`--files` files (50 lines each) in a temporary directory.

Run: python bench/undo_costs.py [--files 2000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from agent.checkpoint import Checkpoint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        for i in range(args.files):
            (repo / f"m{i % 40}").mkdir(exist_ok=True)
            (repo / f"m{i % 40}/f{i}.py").write_text(f"x = {i}\n" * 50)
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "b"],
                       check=True)
        checkpoint = Checkpoint(repo, "20261208-000000-bench0")
        started = time.perf_counter()
        checkpoint.ensure([])
        print(f"first change of a session (whole-tree checkpoint): {(time.perf_counter() - started) * 1000:.0f} ms")
        target = repo / "m2/f2.py"
        data = target.read_bytes()
        started = time.perf_counter()
        for i in range(args.rounds):
            new = data + b"# %d\n" % i
            with checkpoint.locked():
                checkpoint.before_write(target, data, 0o644, new)
                target.write_bytes(new)
                checkpoint.after_write(target, new)
            data = new
        per_write = (time.perf_counter() - started) / args.rounds * 1000
        print(f"per file-tool write (lock, synced record): {per_write:.1f} ms")
        rounds = max(1, args.rounds // 2)
        started = time.perf_counter()
        for i in range(rounds):
            checkpoint.ensure([], opaque=True)
            (repo / f"m1/f{i}.py").write_text("changed\n")
            checkpoint.settle()
        per_command = (time.perf_counter() - started) / rounds * 1000
        print(f"per shell command (snapshots before and after): {per_command:.0f} ms")


if __name__ == "__main__":
    main()
