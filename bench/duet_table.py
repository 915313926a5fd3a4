"""The duet's side-by-side table: a task suite under each routing profile (cheap, balanced, best, duet, auto)
through the real `agent eval` (real `agent` processes) against the real HTTP fake server, whose models differ in
competence by role and task (fixtures/fakeapi/scenarios/bench_*.json, written by bench/bench_scenarios.py).

Prints, per profile: pass rate with its 95% Wilson interval, $ per run, $ per solved task, total $; then the
dollars per role (plan, execute, review, escalate, classify, ...); then the pass rate per tag, and what `auto`
chose per tag. Each profile is its own `agent eval` into one output directory (a profile this build does not
know fails alone, listed as not run); then routing.toml is written from those runs (as `agent eval` writes it)
and `auto` is evaluated following it. Every figure is summed exactly (Decimal) from results.jsonl.

Prices are pinned (flat launch prices in the bench's own config): the table does not depend on the hour.

Run: python bench/duet_table.py [--profiles cheap,balanced,best,duet,auto] [--repeat K] [--suite FILE]
     [--scenario FILE ...] [--script FILE] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from agent.eval.results import EvalRow, read_rows
from agent.routing.wilson import Interval, wilson
from fixtures import FIXTURES_DIR
from fixtures.fakeapi import FakeAPI, Script
from fixtures.fakeapi.competence import SCENARIOS_DIR, Scenario

SUITE = FIXTURES_DIR / "bench_suite" / "suite.toml"
SCENARIOS = sorted(SCENARIOS_DIR.glob("bench_*.json"))
PROFILES = "cheap,balanced,best,duet,auto"
KEY = "sk-bench-0123456789abcdef0123"
MICRO = Decimal("0.000001")  # $ per run and $ per solved task are quotients: shown to a millionth of a dollar
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


@dataclass
class Figures:
    """One profile's figures, exact."""

    runs: int
    passed: int
    total: Decimal
    roles: dict[str, Decimal]
    interval: Interval
    by_tag: dict[str, tuple[int, int]] = field(default_factory=dict)  # tag -> (passed, runs)

    @property
    def per_run(self) -> Decimal:
        return (self.total / self.runs).quantize(MICRO, ROUND_HALF_EVEN)

    @property
    def per_solved(self) -> Decimal | None:
        return (self.total / self.passed).quantize(MICRO, ROUND_HALF_EVEN) if self.passed else None


def figures(rows: list[EvalRow]) -> dict[str, Figures]:
    """Per configuration: runs, passes, exact dollars in all and per role, pass per tag."""
    by_config: dict[str, list[EvalRow]] = defaultdict(list)
    for row in rows:
        by_config[row.config].append(row)
    out: dict[str, Figures] = {}
    for config, group in by_config.items():
        roles: dict[str, Decimal] = defaultdict(Decimal)
        tags: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in group:
            for role, usd in row.roles.items():
                roles[role] += Decimal(usd)
            for tag in row.tags:
                tags[tag][0] += row.passed
                tags[tag][1] += 1
        passed = sum(1 for r in group if r.passed)
        out[config] = Figures(runs=len(group), passed=passed, total=sum((r.cost for r in group), Decimal(0)),
                              roles=dict(sorted(roles.items())), interval=wilson(passed, len(group)),
                              by_tag={t: (p, n) for t, (p, n) in sorted(tags.items())})
    return out


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value}"


def table(rows: list[EvalRow], profiles: list[str], skipped: dict[str, str],
          policy: dict[str, str] | None = None) -> str:
    """The side-by-side table (Markdown), dollars per role, pass per tag, and what auto chose per tag."""
    found = figures(rows)
    role_names = sorted({role for f in found.values() for role in f.roles})
    out = ["| profile | runs | pass rate (95% Wilson CI) | $ per run | $ per solved task | total $ |",
           "|---|---:|---|---:|---:|---:|"]
    for profile in profiles:
        f = found.get(profile)
        if f is None:
            out.append(f"| {profile} | 0 | not run: {skipped.get(profile, 'no runs')} | | | |")
            continue
        out.append(f"| {profile} | {f.runs} | {f.interval.describe()} | {_money(f.per_run)} | "
                   f"{_money(f.per_solved)} | {_money(f.total)} |")
    out += ["", "Dollars per role (share of the profile's total):", "",
            "| profile | " + " | ".join(role_names) + " |", "|---|" + "---:|" * len(role_names)]
    for profile in (p for p in profiles if p in found):
        f = found[profile]
        cells = [f"{_money(f.roles[r])} ({f.roles[r] / f.total:.0%})" if r in f.roles and f.total
                 else _money(f.roles.get(r)) for r in role_names]
        out.append(f"| {profile} | " + " | ".join(cells) + " |")
    tags = sorted({tag for f in found.values() for tag in f.by_tag})
    out += ["", "Passed per tag:", "", "| profile | " + " | ".join(tags) + " |", "|---|" + "---:|" * len(tags)]
    for profile in (p for p in profiles if p in found):
        by_tag = found[profile].by_tag
        cells = [f"{by_tag[t][0]}/{by_tag[t][1]}" if t in by_tag else "—" for t in tags]
        out.append(f"| {profile} | " + " | ".join(cells) + " |")
    if policy:
        out += ["", "routing.toml (from the other profiles' runs): "
                + "; ".join(f"{tag} → {profile}" for tag, profile in sorted(policy.items()))]
    auto = [r for r in rows if r.config == "auto"]
    if auto:
        chosen = sorted({(",".join(r.tags), r.routed_profile or "?") for r in auto})
        out.append("auto chose per tag: " + "; ".join(f"{tags_} → {profile}" for tags_, profile in chosen))
    return "\n".join(out)


def read_policy_tags(path: Path) -> dict[str, str]:
    """routing.toml's profile per tag (and the default, as `*`)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    tags = {str(tag): str(entry.get("route", entry.get("profile", "?"))) for tag, entry in
            (data.get("tags") or {}).items() if isinstance(entry, dict)}
    if "default" in data:
        tags["*"] = str(data["default"])
    return tags


@dataclass
class BenchRun:
    rows: list[EvalRow]
    skipped: dict[str, str]
    policy: dict[str, str]
    violations: list[str]


def run_bench(suite: Path, profiles: list[str], out: Path, *, repeat: int = 1, jobs: int = 2,
              scenarios: list[Path] | None = None, script: Path | None = None) -> BenchRun:
    """Every profile but auto, then routing.toml from their runs, then auto following it; all into `out`."""
    from agent.eval.report import write_routing
    from agent.eval.suite import load_suite

    loaded = [Scenario.load(p) for p in (SCENARIOS if scenarios is None else scenarios)]
    server = FakeAPI(Script.load(script) if script else None, scenarios=loaded).start()
    skipped: dict[str, str] = {}
    policy: dict[str, str] = {}
    home = Path(tempfile.mkdtemp(prefix="duet-bench-home-"))
    try:
        env = _env(server.base_url, home)
        for profile in (p for p in profiles if p != "auto"):
            if why := _eval(suite, profile, out, env, repeat, jobs):
                skipped[profile] = why
        if "auto" in profiles:
            results = out / "results.jsonl"
            path = write_routing(out, read_rows(results) if results.exists() else [],
                                 descriptions=load_suite(suite).tags,
                                 profiles=[p for p in profiles if p != "auto"], source="bench/duet_table.py")
            if path is None:
                skipped["auto"] = "no profile ran, so there is no policy to follow"
            else:
                policy = read_policy_tags(path)
                if why := _eval(suite, "auto", out, env, repeat, jobs, routing=path):
                    skipped["auto"] = why
        results = out / "results.jsonl"
        rows = read_rows(results) if results.exists() else []
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return BenchRun(rows, skipped, policy, list(server.violations))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=PROFILES, help=f"comma-separated (default {PROFILES})")
    parser.add_argument("--suite", type=Path, default=SUITE, help="the task suite (default: fixtures/bench_suite)")
    parser.add_argument("--scenario", type=Path, action="append",
                        help="competence scenario JSON (default: fixtures/fakeapi/scenarios/bench_*.json)")
    parser.add_argument("--script", type=Path, help="a fake server script played where no scenario matches")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each task per profile (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--keep", type=Path, help="keep the eval's output (results, reports, routing.toml) here")
    args = parser.parse_args()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    suite = args.suite.resolve()
    if not suite.is_file():
        print(f"duet_table: no suite at {suite}", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="duet-bench-table-"))
    out = args.keep.resolve() if args.keep else scratch / "out"
    try:
        run = run_bench(suite, profiles, out, repeat=args.repeat, jobs=args.jobs, scenarios=args.scenario,
                        script=args.script)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"suite {suite.relative_to(Path.cwd()) if suite.is_relative_to(Path.cwd()) else suite} "
          f"({len({r.task for r in run.rows})} tasks) × {args.repeat} repeat(s); fake server scenarios: "
          f"{', '.join(p.stem for p in (args.scenario or SCENARIOS))}; prices pinned (flat launch)\n")
    print(table(run.rows, profiles, run.skipped, run.policy))
    if run.violations:
        print(f"\nfake server: {len(run.violations)} protocol violation(s), first: {run.violations[0]}")
    if args.keep:
        print(f"\nresults, reports and routing.toml in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
