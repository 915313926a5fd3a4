"""`report.md`: the eval's tables (per configuration, per tag) and its recommendation, as Markdown."""

from __future__ import annotations

from decimal import Decimal

from agent.eval.coverage import coverage
from agent.eval.recommend import Recommendation, recommend
from agent.eval.results import EvalRow
from agent.eval.stats import UNTAGGED, ConfigStats, config_stats, pareto_front, role_dollars, tag_stats
from agent.routing.wilson import wilson


def money(value: Decimal | str | None) -> str:
    """Dollars for a table: more digits for the small amounts evals of cheap models produce."""
    if value is None:
        return "—"
    amount = Decimal(value)
    return f"${amount:.4f}" if abs(amount) < 1 else f"${amount:,.2f}"


_ENDED = {"error_max_turns": "turn limit", "error_max_budget_usd": "budget spent", "error_timeout": "time limit",
          "error_permission": "changes refused by the approval mode", "error_provider": "error: provider unavailable"}
_ERROR_EXITS = {2: "error: configuration", 6: "error: the test command could not run", 130: "error: interrupted"}


def ended(row: EvalRow) -> str:
    """How a run ended, in words: a run that simply did not pass is "tests still failing" (its check failed),
    never the result's catch-all `error_during_execution`; a real error stays named as an error."""
    if row.passed:
        return "passed"
    if row.subtype == "error_during_execution":
        if row.exit_code in _ERROR_EXITS:
            return f"{_ERROR_EXITS[row.exit_code]} (exit {row.exit_code})"
        if row.exit_code != 1:
            return f"error: error_during_execution (exit {row.exit_code})"
    elif row.subtype in _ENDED:
        return f"{_ENDED[row.subtype]} (exit {row.exit_code})"
    elif row.subtype != "success":
        return f"{row.subtype} (exit {row.exit_code})"
    if row.check_exit_code is None:
        return "not checked"
    return "tests still failing" if row.subtype == "success" else "stopped with tests still failing"


def headline(rows: list[EvalRow]) -> str:
    tasks = len({r.task for r in rows})
    configs = len({r.config for r in rows})
    total = sum((r.cost for r in rows), Decimal(0))
    passed = sum(1 for r in rows if r.passed)
    return (f"{len(rows)} runs of {tasks} tasks under {configs} configurations: {passed} passed, "
            f"{money(total)} spent.")


def rate_cell(s: ConfigStats) -> str:
    """`67% (2/3; 95% CI 21–94%)`: the pass rate with its Wilson score interval."""
    interval = wilson(s.passed, s.runs)
    return (f"{s.pass_rate:.0%} ({s.passed}/{s.runs}; 95% CI {interval.low * 100:.0f}–"
            f"{interval.high * 100:.0f}%)")


def _role_table(rows: list[EvalRow]) -> list[str]:
    """Per configuration, where its dollars went by role (plan, execute, review, ...), and each role's share."""
    by_config = role_dollars(rows)
    roles = sorted({role for spend in by_config.values() for role in spend})
    lines = ["| configuration | " + " | ".join(roles) + " |", "|---|" + "---:|" * len(roles)]
    for config, spend in by_config.items():
        total = sum(spend.values(), Decimal(0))
        cells = [f"{money(spend[r])} ({spend[r] / total:.0%})" if r in spend and total else
                 money(spend.get(r, Decimal(0))) for r in roles]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return lines


def _config_table(stats: list[ConfigStats], front: list[str]) -> list[str]:
    lines = ["| configuration | runs | pass rate | mean cost | total cost | cost per solved task | mean turns "
             "| mean time |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in stats:
        mark = " ◆" if s.config in front else ""
        lower = "*" if s.unpriced else ""
        lines.append(f"| {s.config}{mark} | {s.runs} | {rate_cell(s)} | "
                     f"{money(s.mean_cost)}{lower} | {money(s.total_cost)}{lower} | "
                     f"{money(s.cost_per_solved)}{lower} | {s.mean_turns:.1f} | {s.mean_seconds:.1f} s |")
    return lines


def _tag_table(stats: list[ConfigStats], rows: list[EvalRow] | None = None) -> list[str]:
    roles = role_dollars(rows or [])
    lines = ["| configuration | runs | pass rate | mean cost | cost per solved task | dollars by role |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {s.config} | {s.runs} | {rate_cell(s)} | {money(s.mean_cost)} | "
              f"{money(s.cost_per_solved)} | {_roles_cell(roles.get(s.config, {}))} |" for s in stats]
    return lines


def _roles_cell(spend: dict[str, Decimal]) -> str:
    return ", ".join(f"{role} {money(usd)}" for role, usd in spend.items()) or "—"


def recommendation_lines(recommendations: list[Recommendation]) -> list[str]:
    lines = ["| tasks | use | pass rate | mean cost per run | why |", "|---|---|---:|---:|---|"]
    for r in recommendations:
        use = f"**{r.config}**" if r.config else "—"
        lines.append(f"| {r.tag} | {use} | {r.pass_rate:.0%} | {money(r.mean_cost) if r.config else '—'} | "
                     f"{r.reason} |")
    return lines


def render_markdown(rows: list[EvalRow]) -> str:
    """The whole report."""
    if not rows:
        return "# Eval report\n\nNo finished runs yet.\n"
    stats = config_stats(rows)
    front = pareto_front(stats)
    out = ["# Eval report", "", headline(rows), ""]
    if note := coverage(rows).note():
        out += [f"**⚠ {note}**", ""]
    out += ["## Recommendation", "",
           "For each tag, the cheapest configuration within the best pass rate.", "",
           *recommendation_lines(recommend(rows)), "", "## By configuration", "",
           *_config_table(stats, front), "",
           "◆ on the Pareto front (no other configuration passes as often for less). Cost per solved task: "
           "all the runs' dollars over the runs that passed."]
    if any(s.unpriced for s in stats):
        out += ["", "\\* some runs used models without a price: these dollars are a lower bound."]
    if any(r.roles for r in rows):
        out += ["", "## Dollars per role", "", *_role_table(rows), "",
                "Each cell: the configuration's dollars on that role over all its runs (and its share)."]
    out += _policy_lines(rows)
    out += ["", "## By tag"]
    for tag, tag_rows in tag_stats(rows).items():
        of_tag = [r for r in rows if tag in (r.tags or [UNTAGGED])]
        out += ["", f"### {tag}", "", *_tag_table(tag_rows, of_tag)]
    failed = [r for r in rows if not r.passed]
    if failed:
        out += ["", "## Runs that failed their check", "",
                "| task | configuration | repeat | how it ended | check exit |", "|---|---|---:|---|---:|"]
        out += [f"| {r.task} | {r.config} | {r.repeat} | {ended(r)} | {r.check_exit_code} |" for r in failed]
    return "\n".join(out) + "\n"


def _policy_lines(rows: list[EvalRow]) -> list[str]:
    """The routing policy (routing.toml) these runs support, when routing profiles were run."""
    from agent.routing.policy import decide_policy

    decision = decide_policy(rows)
    if not decision.runs:
        return []
    lines = ["", "## Routing policy (routing.toml)", "",
             "For each tag, the cheapest profile whose pass rate reaches the lower 95% Wilson bound of the best "
             "profile's.", "", "| tasks | profile | why |", "|---|---|---|"]
    for d in (decision.default, *decision.tags):
        lines.append(f"| {d.tag} | {f'**{d.profile}**' if d.profile else '—'} | {d.reason} |")
    return lines
