"""The duet's side-by-side table: a task suite under each routing profile (cheap, balanced, best, duet, auto)
against the fake server, with pass rate (and its 95% Wilson interval), dollars per run and per solved task, and
where each role's dollars went.

Each profile is its own `agent eval` into one output directory (a profile this build does not know fails alone,
and is listed as not run); then the routing policy those runs support is written (routing.toml, as `agent eval`
writes it) and `auto` is evaluated following it. The fake server's models play the suite's script: until its
models differ in competence by role and task (fixtures/fakeapi), the profiles differ in price, not in skill, and
the table says so by its pass rates.

Run: python bench/duet_table.py [--profiles cheap,balanced,best,duet,auto] [--repeat K] [--suite FILE]
     [--script FILE] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from agent.eval.results import EvalRow, read_rows
from agent.eval.stats import role_dollars
from agent.routing.wilson import wilson
from fixtures import FIXTURES_DIR
from fixtures.fakeapi import FakeAPI, Script

SUITE = FIXTURES_DIR / "eval" / "suite.toml"
PROFILES = "cheap,balanced,best,duet,auto"
KEY = "sk-bench-0123456789abcdef0123"
# Flat launch prices: the table must not depend on the hour it runs (DeepSeek's peak pricing).
CONFIG = """[retry]
backoff_base_s = 0.05
backoff_cap_s = 0.2
max_retries = 3

[[prices]]
model = "deepseek-v4-pro"
since = 2026-09-01
input = 1.74
cached_input = 0.145
output = 3.48

[[prices]]
model = "deepseek-v4-flash"
since = 2026-09-01
input = 0.14
cached_input = 0.028
output = 0.28
"""


def _env(base_url: str, home: Path) -> dict[str, str]:
    (home / ".config" / "duet").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "duet" / "config.toml").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), DEEPSEEK_BASE_URL=base_url,
               OPENAI_BASE_URL=base_url, DEEPSEEK_API_KEY=KEY, OPENAI_API_KEY=KEY, GIT_AUTHOR_NAME="b",
               GIT_AUTHOR_EMAIL="b@localhost", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@localhost")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _eval(suite: Path, profile: str, out: Path, env: dict[str, str], repeat: int, jobs: int,
          routing: Path | None = None) -> str | None:
    """One profile's eval into `out`; None when it ran, else why not (its last line of stderr)."""
    argv = [sys.executable, "-m", "agent.cli.main", "eval", str(suite), "--route", profile, "--repeat",
            str(repeat), "--jobs", str(jobs), "--out", str(out), *(["--routing", str(routing)] if routing else [])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode in (0, 1):
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {done.returncode}"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def table(rows: list[EvalRow], profiles: list[str], skipped: dict[str, str]) -> str:
    """The side-by-side table (Markdown), then dollars per role, then what auto chose per task."""
    by_config: dict[str, list[EvalRow]] = defaultdict(list)
    for row in rows:
        by_config[row.config].append(row)
    roles = role_dollars(rows)
    role_names = sorted({role for spend in roles.values() for role in spend})
    out = ["| profile | runs | pass rate (95% Wilson CI) | $ per run | $ per solved task | total $ |",
           "|---|---:|---|---:|---:|---:|"]
    for profile in profiles:
        group = by_config.get(profile, [])
        if not group:
            out.append(f"| {profile} | 0 | not run: {skipped.get(profile, 'no runs')} | | | |")
            continue
        passed = sum(1 for r in group if r.passed)
        total = sum((r.cost for r in group), Decimal(0))
        out.append(f"| {profile} | {len(group)} | {wilson(passed, len(group)).describe()} | "
                   f"{_money(total / len(group))} | {_money(total / passed if passed else None)} | {_money(total)} |")
    out += ["", "| profile | " + " | ".join(role_names) + " |", "|---|" + "---:|" * len(role_names)]
    for profile in profiles:
        spend = roles.get(profile)
        if not spend:
            continue
        whole = sum(spend.values(), Decimal(0))
        cells = [f"{_money(spend[r])} ({spend[r] / whole:.0%})" if r in spend and whole else _money(spend.get(r))
                 for r in role_names]
        out.append(f"| {profile} | " + " | ".join(cells) + " |")
    auto = by_config.get("auto", [])
    if auto:
        chosen = sorted({(r.task, ",".join(r.tags), r.routed_profile or "?") for r in auto})
        out += ["", "auto chose: " + "; ".join(f"{task} [{tags}] → {profile}" for task, tags, profile in chosen)]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=PROFILES, help=f"comma-separated (default {PROFILES})")
    parser.add_argument("--suite", type=Path, default=SUITE, help="the task suite (default: fixtures/eval)")
    parser.add_argument("--script", type=Path, help="the fake server's script (default: fakeapi.json beside "
                                                    "the suite)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each task per profile (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--keep", type=Path, help="keep the eval's output (results, reports, routing.toml) here")
    args = parser.parse_args()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    suite = args.suite.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="duet-bench-table-"))
    out = args.keep.resolve() if args.keep else scratch / "out"
    server = FakeAPI(Script.load(args.script or suite.parent / "fakeapi.json")).start()
    skipped: dict[str, str] = {}
    try:
        env = _env(server.base_url, scratch / "home")
        for profile in (p for p in profiles if p != "auto"):
            if why := _eval(suite, profile, out, env, args.repeat, args.jobs):
                skipped[profile] = why
        if "auto" in profiles:
            from agent.eval.report import write_routing

            policy = write_routing(out, read_rows(out / "results.jsonl"),
                                   profiles=[p for p in profiles if p != "auto"], source="bench/duet_table.py")
            if policy is None:
                skipped["auto"] = "no profile ran, so there is no policy to follow"
            elif why := _eval(suite, "auto", out, env, args.repeat, args.jobs, routing=policy):
                skipped["auto"] = why
        rows = read_rows(out / "results.jsonl")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"suite {suite} ({len({r.task for r in rows})} tasks) × {args.repeat} repeat(s), fake server "
          f"{json.dumps(str(args.script or 'fakeapi.json beside the suite'))}\n")
    print(table(rows, profiles, skipped))
    if args.keep:
        print(f"\nresults, reports and routing.toml in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
