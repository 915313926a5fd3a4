"""`report.html`: the eval report as one self-contained page (inline CSS and SVG, no script, no network), with
the charts drawn by the cost dashboard's chart kit (agent/spend/svg.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.eval.coverage import coverage
from agent.eval.recommend import recommend
from agent.eval.report_md import ended, headline, money, rate_cell
from agent.eval.results import EvalRow
from agent.eval.stats import ConfigStats, config_stats, pareto_front, role_dollars, tag_stats
from agent.spend.dashboard import STYLE
from agent.spend.svg import color_of, escape, grouped_bars, scatter

RUNS_DIR = "runs"


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _config_rows(stats: list[ConfigStats], front: list[str]) -> list[list[str]]:
    return [[escape(s.config) + (" ◆" if s.config in front else ""), str(s.runs),
             escape(rate_cell(s)), money(s.mean_cost) + ("*" if s.unpriced else ""),
             money(s.total_cost), money(s.cost_per_solved), f"{s.mean_turns:.1f}", f"{s.mean_seconds:.1f} s"]
            for s in stats]


def _log_link(row: EvalRow, out_dir: Path | None) -> str:
    """A link to the run's log, relative to report.html (so the output directory can be moved or shared whole);
    none when the report is written where the log is not (a merge of shards kept elsewhere)."""
    from agent.eval.runner import run_stem

    name = f"{RUNS_DIR}/{run_stem(row.key)}.log"
    if out_dir is not None and not (out_dir / name).is_file():
        return '<span class="muted">no log here</span>'
    return f'<a class="log" href="{escape(name)}">log</a>'


def _matrix(rows: list[EvalRow], out_dir: Path | None) -> str:
    """Task × configuration: each run's verdict, dollars and log, one line per repeat."""
    tasks = sorted({r.task for r in rows})
    configs = sorted({r.config for r in rows})
    cells: dict[tuple[str, str], list[EvalRow]] = {}
    for r in sorted(rows, key=lambda r: r.repeat):
        cells.setdefault((r.task, r.config), []).append(r)
    head = "".join(f"<th>{escape(c)}</th>" for c in configs)
    body = []
    for task in tasks:
        tds = []
        for config in configs:
            runs = cells.get((task, config), [])
            lines = [f'<div class="run {"pass" if r.passed else "fail"}" data-task="{escape(r.task)}" '
                     f'data-config="{escape(r.config)}" data-repeat="{r.repeat}" data-passed="{str(r.passed).lower()}" '
                     f'data-usd="{escape(r.cost_usd_exact)}">'
                     f'{"✓ pass" if r.passed else "✗ " + escape(ended(r))} · {money(r.cost)} · '
                     f"{_log_link(r, out_dir)}</div>" for r in runs]
            tds.append(f"<td>{''.join(lines) or '—'}</td>")
        body.append(f"<tr><td>{escape(task)}</td>{''.join(tds)}</tr>")
    return (f'<table id="matrix"><thead><tr><th>task</th>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table>")


def _failed(rows: list[EvalRow], out_dir: Path | None) -> str:
    failed = [r for r in rows if not r.passed]
    if not failed:
        return "<p>Every run passed its check.</p>"
    return _table(["task", "configuration", "repeat", "how it ended", "check exit", "log"],
                  [[escape(r.task), escape(r.config), str(r.repeat), escape(ended(r)),
                    escape(str(r.check_exit_code)), _log_link(r, out_dir)] for r in failed]).replace(
        "<table>", '<table id="failed">', 1)


def _roles(rows: list[EvalRow]) -> str:
    """Per configuration, its dollars by role (plan, execute, review, ...) and each role's share."""
    by_config = role_dollars(rows)
    if not by_config:
        return ""
    roles = sorted({role for spend in by_config.values() for role in spend})
    body = []
    for config, spend in by_config.items():
        total = sum(spend.values(), Decimal(0))
        body.append([escape(config), *(f"{money(spend[r])} ({spend[r] / total:.0%})" if r in spend and total
                                       else money(spend.get(r, Decimal(0))) for r in roles)])
    return "<h2>Dollars per role</h2>" + _table(["configuration", *roles], body)


def _policy(rows: list[EvalRow]) -> str:
    """The routing policy (routing.toml) these runs support, when routing profiles were run: the same table as
    report.md's, with its Wilson-bound reasons."""
    from agent.routing.policy import decide_policy

    decision = decide_policy(rows)
    if not decision.runs:
        return ""
    body = [[escape(d.tag), f"<b>{escape(d.profile)}</b>" if d.profile else "—", escape(d.reason)]
            for d in (decision.default, *decision.tags)]
    return ("<h2>Routing policy (routing.toml)</h2><p class=\"muted\">For each tag, the cheapest profile whose pass "
            "rate reaches the lower 95% Wilson bound of the best profile's.</p>"
            + _table(["tasks", "profile", "why"], body))


def render_html(rows: list[EvalRow], out_dir: Path | None = None) -> str:
    """The whole page; `out_dir` (where it is written) decides which run logs can be linked."""
    stats = config_stats(rows)
    front = pareto_front(stats)
    colors = {s.config: color_of(i) for i, s in enumerate(stats)}
    by_tag = tag_stats(rows)
    points = {s.config: (s.mean_cost, s.pass_rate) for s in stats}
    per_solved = {tag: {s.config: s.cost_per_solved for s in group} for tag, group in by_tag.items()}
    recommendations = [[escape(r.tag), f"<b>{escape(r.config)}</b>" if r.config else "—", f"{r.pass_rate:.0%}",
                        money(r.mean_cost) if r.config else "—", escape(r.reason)] for r in recommend(rows)]
    tag_tables = "".join(
        f"<h3>{escape(tag)}</h3>" + _table(
            ["configuration", "runs", "pass rate", "mean cost", "cost per solved task"],
            [[escape(s.config), str(s.runs), escape(rate_cell(s)), money(s.mean_cost),
              money(s.cost_per_solved)] for s in group])
        for tag, group in by_tag.items())
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Duet eval report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Eval report</h1>",
        f"<p>{escape(headline(rows))}</p>" if rows else "<p>No finished runs yet.</p>",
        f"<p class=\"warning\"><b>⚠ {escape(note)}</b></p>" if (note := coverage(rows).note()) else "",
        "<h2>Runs</h2><p class=\"muted\">Each task under each configuration: the check's verdict, the run's "
        "dollars and its log (a link relative to this page).</p>",
        _matrix(rows, out_dir) if rows else "",
        "<h2>Runs that failed their check</h2>" if rows else "", _failed(rows, out_dir) if rows else "",
        "<h2>Recommendation</h2><p class=\"muted\">For each tag, the cheapest configuration within the best "
        "pass rate.</p>",
        _table(["tasks", "use", "pass rate", "mean cost per run", "why"], recommendations),
        "<h2>Pass rate against cost</h2>",
        "<p class=\"muted\">Mean cost per run (log scale, each dot labelled with its dollars) against pass rate, "
        "one dot per configuration. Ringed and joined: the Pareto front (no other configuration passes as often "
        "for less).</p>",
        f"<figure id=\"pareto\">{scatter(points, front, colors, 'Pass rate against mean cost per run')}</figure>",
        "<h2>Cost per solved task by tag</h2>",
        "<p class=\"muted\">All the runs' dollars over the runs that passed; – where none passed.</p>",
        f"<figure id=\"per-tag\">{grouped_bars(per_solved, colors, 'Cost per solved task by tag')}</figure>",
        "<h2>By configuration</h2>",
        _table(["configuration", "runs", "pass rate", "mean cost", "total cost", "cost per solved task",
                "mean turns", "mean time"], _config_rows(stats, front)),
        _roles(rows), _policy(rows),
        "<h2>By tag</h2>", tag_tables,
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
