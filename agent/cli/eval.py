"""`agent eval SUITE.toml ... --out DIR` and `agent eval merge DIR... --out DIR`: the same tasks under several
models or routing profiles, pass rate against dollars, with a report."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.eval.plan import EvalConfig, RunKey
    from agent.eval.results import EvalRow
    from agent.eval.runner import Children
    from agent.eval.suite import Suite
    from agent.roles import Role

EVAL_EXIT_CODES = """exit codes:
  0    every run of this eval (or shard) has finished, whatever passed
  1    the harness could not carry out some runs (listed; rerun to retry them); for merge: planned runs are
       missing from every directory given (a shard not given or not finished)
  2    usage error, bad suite file, or a configuration the agent refuses (e.g. a missing API key)
  3    --max-cost reached before every run started
  130  interrupted (Ctrl+C); 143 stopped by SIGTERM. Finished runs are kept: rerun the same command to resume
"""
EXIT_HARNESS, EXIT_BUDGET = 1, 3


def add_eval_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `agent eval` (with `merge`) on the top-level subcommands."""
    from agent.cli.argtypes import positive_float, positive_int

    p = sub.add_parser("eval", help="run a task suite across models or routing profiles; report pass rate "
                                    "against cost", epilog=EVAL_EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       usage="agent eval SUITE.toml --out DIR [options]\n       agent eval merge DIR... --out DIR")
    p.add_argument("suite", metavar="SUITE.toml", help="the suite file (or `merge`, then shards' output directories)")
    p.add_argument("dirs", nargs="*", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--out", required=True, metavar="DIR", help="where results.jsonl and the reports go")
    p.add_argument("--route", metavar="R1,R2", help="routing profiles to compare (cheap, balanced, best, duet, "
                                                    "yours; auto: the --routing policy itself); writes routing.toml")
    p.add_argument("--routing", metavar="FILE", help="the routing policy the `auto` configuration follows")
    p.add_argument("--model", metavar="M1,M2", help="models to compare, each pinned for every step")
    p.add_argument("--repeat", type=positive_int, default=1, metavar="K", help="runs of each task per configuration")
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N", help="runs at once (default 1)")
    p.add_argument("--shard", metavar="I/N", help="run only the I-th of N disjoint slices of the runs (for CI)")
    p.add_argument("--max-cost", type=positive_float, metavar="USD",
                   help="start no new run once the eval's results add up to this")
    p.add_argument("--sandbox", choices=["on", "off"], help="confine the runs' commands (default: as configured)")
    p.add_argument("--setup-network", action="store_true",
                   help="let the tasks' setup commands use the network (e.g. to install dependencies)")
    p.add_argument("--mcp", action="store_true", help="start your configured MCP servers in the runs (their tools "
                                                      "are auto-approved like every tool of an eval run)")


def run_eval(args: argparse.Namespace) -> int:
    """`agent eval`: dispatch to a suite run or a merge."""
    out_dir = Path(args.out).resolve()
    if args.suite == "merge":
        if not args.dirs:
            raise ConfigError("eval merge: name the output directories to merge (agent eval merge DIR... --out DIR)")
        extra = [flag for flag in ("route", "routing", "model", "shard", "max_cost", "sandbox", "setup_network",
                                   "mcp")
                 if getattr(args, flag)]
        if extra:
            raise ConfigError(f"eval merge: --{extra[0].replace('_', '-')} means nothing to a merge")
        return _merge([Path(d) for d in args.dirs], out_dir)
    if args.dirs:
        raise ConfigError(f"eval: unexpected argument {args.dirs[0]!r} (one suite file per eval)")
    return _run_suite(args, out_dir)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _run_suite(args: argparse.Namespace, out_dir: Path) -> int:
    from agent.eval.plan import Shard, configurations, plan_runs
    from agent.eval.planned import write_plan
    from agent.eval.progress import EvalProgress
    from agent.eval.report import write_reports, write_routing
    from agent.eval.results import ResultsFile, interrupted_rows, total_spend, unique_rows
    from agent.eval.runner import Children, RunSettings, command_sandbox
    from agent.eval.schedule import run_all
    from agent.eval.suite import load_suite

    suite = load_suite(Path(args.suite))
    routes = _split(args.route)
    _check_routes(routes, suite.root)
    routing = _routing_file(args.routing, routes)
    configs = configurations(routes, _split(args.model))
    whole = plan_runs([t.id for t in suite.tasks], configs, args.repeat)
    runs = Shard.parse(args.shard).select(whole) if args.shard else whole
    results = ResultsFile(out_dir)
    # Checked before any run is paid for; even a shard with nothing to run leaves a file for merge.
    if note := results.create():
        print(f"eval: {note}", file=sys.stderr)
    write_plan(out_dir, whole)
    before = results.read()
    finished = {row.key for row in before if not row.interrupted}  # an interrupted run runs again
    todo = [key for key in runs if key not in finished]
    _check_keys([c for c in configs if any(key.config == c.name for key in todo)], suite.root, os.environ)
    env = dict(os.environ)
    commands = command_sandbox(env, args.sandbox, suite.root)
    if warning := commands.warning(suite.root):
        print(warning, file=sys.stderr)
    for note in _ignored_asks(suite, args):
        print(note, file=sys.stderr)
    settings = RunSettings(suite=suite, out_dir=out_dir, env=env, sandbox=args.sandbox, commands=commands,
                           setup_network=args.setup_network, mcp=args.mcp, routing=routing)
    children = Children()
    budget = Decimal(str(args.max_cost)) if args.max_cost else None
    spent = total_spend(before)  # interrupted runs' dollars included: they were paid for
    planned = set(runs)
    ours = [row for row in unique_rows(before) if row.key in planned]
    with _signals_stop(children) as received, EvalProgress(len(runs), ours) as progress:
        outcome = run_all(settings, todo, {c.name: c for c in configs}, results, jobs=args.jobs,
                          children=children, progress=progress, max_cost=budget, spent=spent)
    every = results.read()
    rows, cut = unique_rows(every), interrupted_rows(every)
    paths = write_reports(out_dir, rows, cut)
    policy = write_routing(out_dir, rows, suite.tags, [r for r in routes if r != "auto"])
    for note in _model_notes(rows, configs):
        print(note, file=sys.stderr)
    print(f"eval: {len(rows)} runs in {results.path}; report: {paths[0]}, {paths[1]}"
          + (f"; routing policy: {policy}" if policy else ""), file=sys.stderr)
    if received:
        stopped = [row for row in cut if row.key not in {r.key for r in rows}]
        kept = f" ({len(stopped)} cut short: their ${sum((r.cost for r in stopped), Decimal(0)):.4f} is kept in " \
               "the results)" if stopped else ""
        print(f"eval: stopped by {signal.Signals(received[0]).name}; {len(outcome.finished)} runs finished this "
              f"time{kept}; rerun the same command to resume", file=sys.stderr)
        return 128 + received[0]
    for key, message in outcome.failures:
        print(f"eval: {key.label()}: not run: {message}", file=sys.stderr)
    if outcome.halted:
        return 2
    if outcome.failures:
        return EXIT_HARNESS
    if outcome.budget_reached and outcome.not_started:
        print(f"eval: --max-cost ${args.max_cost:g} reached (${outcome.spent:.4f} spent); {len(outcome.not_started)} "
              "runs not started", file=sys.stderr)
        return EXIT_BUDGET
    return 0


def _model_notes(rows: list[EvalRow], configs: list[EvalConfig]) -> list[str]:
    """One line per pinned-model configuration whose runs also called another model (a fallback while its
    provider was down): each row records the models its run used, and the figures are not that model's alone."""
    pinned = {c.name: c.model for c in configs if c.model}
    others: dict[str, set[str]] = {}
    for row in rows:
        model = pinned.get(row.config)
        if model is not None:
            others.setdefault(row.config, set()).update(set(row.models) - {model})
    return [f"eval: configuration {name!r}'s runs also called {', '.join(sorted(used))} (a fallback): see each "
            "row's `models`" for name, used in sorted(others.items()) if used]


def _ignored_asks(suite: Suite, args: argparse.Namespace) -> list[str]:
    """One line for each thing the suite wants that only the user's flags give: network for setup, MCP servers."""
    notes = []
    if suite.mcp and not args.mcp:
        notes.append("eval: the suite's `mcp = true` is ignored: MCP servers start only with `agent eval --mcp`")
    if any(task.setup for task in suite.tasks) and not args.setup_network:
        notes.append("eval: setup commands run without the network (`agent eval --setup-network` allows it)")
    return notes


@contextmanager
def _signals_stop(children: Children) -> Iterator[list[int]]:
    """Ctrl+C, SIGTERM and SIGHUP stop the eval: no new run starts, running ones are passed the signal and their
    results are not kept (they will run again on resume). The list yielded receives the signal's number."""
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        if not received:
            received.append(signum)
        children.stop(signal.SIGTERM if signum != signal.SIGINT else signal.SIGINT)

    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, stop) for s in wanted}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _merge(dirs: list[Path], out_dir: Path) -> int:
    from agent.eval.coverage import coverage
    from agent.eval.planned import read_plan, write_plan
    from agent.eval.report import write_reports, write_routing
    from agent.eval.results import RESULTS_FILE, ResultsFile, interrupted_rows, read_rows, unique_rows

    rows = []
    planned: set[RunKey] = set()
    for directory in dirs:
        path = directory / RESULTS_FILE
        if not path.is_file():
            raise ConfigError(f"eval merge: {directory} has no {RESULTS_FILE}")
        rows += read_rows(path)
        planned |= read_plan(directory) or set()
    merged, cut = unique_rows(rows), interrupted_rows(rows)
    results = ResultsFile(out_dir)
    results.create(check=False)  # replaced whole below
    results.rewrite(merged + cut)  # the interrupted runs' spend is the eval's too
    if planned:
        write_plan(out_dir, sorted(planned))  # so a merge of merges still knows the whole plan
    paths = write_reports(out_dir, merged, cut)
    policy = write_routing(out_dir, merged, _shard_descriptions(dirs), source="agent eval merge")
    dropped = len(rows) - len(merged) - len(cut)
    note = f" ({dropped} duplicate rows dropped)" if dropped else ""
    print(f"eval merge: {len(merged)} runs from {len(dirs)} directories{note}; report: {paths[0]}, {paths[1]}"
          + (f"; routing policy: {policy}" if policy else ""), file=sys.stderr)
    if unequal := coverage(merged).note():
        print(f"eval merge: {unequal}", file=sys.stderr)
    missing = sorted(planned - {row.key for row in merged})
    if missing:
        print(f"eval merge: incomplete: {len(missing)} of the {len(planned)} planned runs are in none of these "
              f"directories (a shard not given or not finished?), e.g. {missing[0].label()}", file=sys.stderr)
        return EXIT_HARNESS
    return 0


def _check_routes(routes: list[str], root: Path) -> None:
    """Every --route value a profile of the user's configuration (as read for the suite), or `auto`: a typo is
    one line before any run starts, not a harness error per run."""
    if not routes:
        return
    from agent.config import load_config
    from agent.routing.auto import known_profiles

    known = {*known_profiles(load_config(root)), "auto"}
    bad = [r for r in routes if r not in known]
    if bad:
        raise ConfigError(f"--route {bad[0]!r}: not a routing profile here (known: {', '.join(sorted(known))})")


KEYED_ROLES: tuple[Role, ...] = ("execute", "plan", "review")
"""The roles a configuration's every run calls: their models' keys are checked before the first run. (Escalation,
vision, summary and overflow models are called only when a run needs them.)"""


def _check_keys(configs: list[EvalConfig], root: Path, environ: Mapping[str, str]) -> None:
    """Every configuration's models have their API keys, or one line naming the variable and the configuration
    before any run is paid for: without it the agent would fall back to another vendor's model, and the eval
    would compare the same model under two names. (`auto` resolves per task; its runs check their own.)"""
    from agent.config import load_config
    from agent.errors import MissingKeyError

    config = load_config(root, None, environ)
    for conf in configs:
        if conf.model:
            needed = [(conf.model, "its model")]
        elif conf.route == "auto":
            continue
        elif config.model and not conf.route:
            needed = [(config.model, "the configured model")]
        else:
            profile = config.route_profile(conf.route or config.route)
            needed = [(model, f"its {role} model") for role in KEYED_ROLES
                      if (model := profile.model_for(role)) is not None]
        for model, what in needed:
            try:
                config.api_key_of(model, environ)
            except MissingKeyError as exc:
                raise ConfigError(f"eval: configuration {conf.name!r} needs {model} ({what}), but {exc.variable} "
                                  "is not set: export it, or leave that configuration out") from None


def _routing_file(raw: str | None, routes: list[str]) -> Path | None:
    """`--routing FILE`, checked before any run is paid for; it only means something to an `auto` configuration."""
    if raw is None:
        return None
    if "auto" not in routes:
        raise ConfigError("--routing FILE is the policy of `--route auto`: add auto to --route")
    from agent.routing.policy_file import read_policy

    path = Path(raw).resolve()
    read_policy(path)
    return path


def _shard_descriptions(dirs: list[Path]) -> dict[str, str]:
    """The tags' descriptions the shards' own routing.toml files carry (a merge has no suite to read them from)."""
    from agent.routing.policy_file import ROUTING_FILE, read_policy

    found: dict[str, str] = {}
    for directory in dirs:
        try:
            policy = read_policy(directory / ROUTING_FILE)
        except ConfigError:
            continue
        for tag, route in policy.tags.items():
            if route.description:
                found.setdefault(tag, route.description)
    return found
