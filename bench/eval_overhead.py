"""What `agent eval` itself adds to each run, against running the same `agent` commands directly.

The sample suite (fixtures/eval, 3 tasks) runs under one configuration against the fake server, `--jobs 1`;
after each eval the very same agent command lines run directly, one after another, each in a copy prepared
beforehand (untimed), as a user would type them in a checked-out repository. K rounds alternate the two, so
the machine's load hits both alike.

Printed per run: the eval's wall time, the agent process's wall time inside it, their difference (the harness's
overhead: copy, git init, the check, clean-up, bookkeeping, plus the eval's own start-up and report spread over
the runs) broken down as the results file records it; and, as a sanity check, the same agent commands run
directly (their mean moves by ±100 ms from one run of the bench to the next on a shared machine, more than the
overhead itself, so the overhead is not taken as a difference of the two).

Run: python bench/eval_overhead.py [--repeat K]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.eval.plan import EvalConfig
from agent.eval.runner import RunSettings, agent_command
from agent.eval.suite import load_suite
from fixtures import FIXTURES_DIR
from fixtures.fakeapi import FakeAPI, Script

SUITE = FIXTURES_DIR / "eval" / "suite.toml"
MODEL = "deepseek-v4-flash"
KEY = "sk-bench-0123456789abcdef0123"


def _env(base_url: str, home: Path) -> dict[str, str]:
    (home / ".config" / "duet").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "duet" / "config.toml").write_text(
        "[retry]\nbackoff_base_s = 0.05\nbackoff_cap_s = 0.2\nmax_retries = 3\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(HOME=str(home), DEEPSEEK_BASE_URL=base_url, OPENAI_BASE_URL=base_url, DEEPSEEK_API_KEY=KEY,
               OPENAI_API_KEY=KEY, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@localhost", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@localhost")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _prepared_copy(source: Path, into: Path, env: dict[str, str]) -> Path:
    copy = into / "repo"
    shutil.copytree(source, copy)
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "task"]):
        subprocess.run(argv, cwd=copy, env=env, check=True, capture_output=True)
    return copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4, help="evals of the suite, each followed by the same "
                                                                 "commands run directly (default 4)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="duet-bench-eval-"))
    server = FakeAPI(Script.load(FIXTURES_DIR / "eval" / "fakeapi.json")).start()
    try:
        env = _env(server.base_url, scratch / "home")
        suite = load_suite(SUITE)
        settings = RunSettings(suite=suite, out_dir=scratch / "direct-out", env=env)
        rows: list[dict] = []
        direct: list[float] = []
        eval_s = 0.0
        for round_ in range(args.repeat):  # alternate, so the machine's load hits both sides alike
            out = scratch / f"out{round_}"
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "agent.cli.main", "eval", str(SUITE), "--model", MODEL,
                                   "--jobs", "1", "--out", str(out)],
                                  env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            eval_s += time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            rows += [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
            for task in suite.tasks:
                work = Path(tempfile.mkdtemp(dir=scratch))
                copy = _prepared_copy(suite.repo_of(task), work, env)
                argv = agent_command(settings, task, EvalConfig(name=MODEL, model=MODEL), copy)
                t0 = time.perf_counter()
                subprocess.run(argv, cwd=copy, env=env, capture_output=True, stdin=subprocess.DEVNULL)
                direct.append(time.perf_counter() - t0)
                shutil.rmtree(work)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    runs = len(rows)
    ms = 1000
    wall = [r["wall_ms"] for r in rows]
    agent = [r["agent_wall_ms"] for r in rows]
    check = [r["check_ms"] for r in rows]
    rest = [w - a - c for w, a, c in zip(wall, agent, check, strict=True)]
    outside = eval_s * ms - sum(wall)
    per_run = eval_s * ms / runs
    direct_ms = [d * ms for d in direct]
    print(f"eval overhead: {runs} runs (3 tasks x {args.repeat} evals, --model {MODEL}, --jobs 1), "
          f"fake server, {os.cpu_count()} cores")
    print(f"  eval wall per run                 {per_run:6.0f} ms   (whole `agent eval` / runs)")
    print(f"  agent process inside the eval     {statistics.mean(agent):6.0f} ms   (sd {statistics.stdev(agent):.0f})")
    print(f"  harness overhead per run          {per_run - statistics.mean(agent):6.0f} ms   (the two above)")
    print(f"    of which the task's check       {statistics.mean(check):6.0f} ms")
    median_rest = statistics.median(rest)
    print(f"    copy + git init + clean-up      {statistics.mean(rest):6.0f} ms   (median {median_rest:.0f})")
    print(f"    eval start-up + plan + report   {outside / runs:6.0f} ms   "
          f"({outside / args.repeat:.0f} ms once per eval, spread over its runs)")
    print(f"  same agent commands run directly  {statistics.mean(direct_ms):6.0f} ms   "
          f"(sd {statistics.stdev(direct_ms):.0f}; a sanity check: the eval does not slow the agent itself)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
