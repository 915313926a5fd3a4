"""`report.html`: the eval report as one self-contained page (inline CSS and SVG, no script, no network), with
the charts drawn by the cost dashboard's chart kit (agent/spend/svg.py)."""

from __future__ import annotations

from html import escape

from agent.eval.coverage import coverage
from agent.eval.recommend import recommend
from agent.eval.report_md import headline, money, rate_cell
from agent.eval.results import EvalRow
from agent.eval.stats import ConfigStats, config_stats, pareto_front, tag_stats
from agent.spend.dashboard import STYLE
from agent.spend.svg import color_of, grouped_bars, scatter


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _config_rows(stats: list[ConfigStats], front: list[str]) -> list[list[str]]:
    return [[escape(s.config) + (" ◆" if s.config in front else ""), str(s.runs),
             escape(rate_cell(s)), money(s.mean_cost) + ("*" if s.unpriced else ""),
             money(s.total_cost), money(s.cost_per_solved), f"{s.mean_turns:.1f}", f"{s.mean_seconds:.1f} s"]
            for s in stats]


def render_html(rows: list[EvalRow]) -> str:
    """The whole page."""
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
        "<h2>Recommendation</h2><p class=\"muted\">For each tag, the cheapest configuration within the best "
        "pass rate.</p>",
        _table(["tasks", "use", "pass rate", "mean cost per run", "why"], recommendations),
        "<h2>Pass rate against cost</h2>",
        "<p class=\"muted\">Mean cost per run against pass rate, one dot per configuration. Ringed and joined: "
        "the Pareto front (no other configuration passes as often for less).</p>",
        f"<figure id=\"pareto\">{scatter(points, front, colors, 'Pass rate against mean cost per run')}</figure>",
        "<h2>Cost per solved task by tag</h2>",
        "<p class=\"muted\">All the runs' dollars over the runs that passed; – where none passed.</p>",
        f"<figure id=\"per-tag\">{grouped_bars(per_solved, colors, 'Cost per solved task by tag')}</figure>",
        "<h2>By configuration</h2>",
        _table(["configuration", "runs", "pass rate", "mean cost", "total cost", "cost per solved task",
                "mean turns", "mean time"], _config_rows(stats, front)),
        "<h2>By tag</h2>", tag_tables,
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
