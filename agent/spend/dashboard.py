"""`agent cost --html FILE`: a self-contained cost dashboard (inline SVG, inline CSS, no network).

It reads the same session records as `agent cost`. Every figure shown carries its exact value in a data
attribute, so a test can check the page against the ledger.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from agent.errors import ConfigError
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceRow, PriceTable, utc_now
from agent.spend.report import CostReport, SessionUsage, reference_cost
from agent.spend.svg import color_of, escape, lines, share_bars, stacked_bars
from tools.atomic import atomic_write_bytes
from tools.beneath import LinkRefused

SESSIONS_SHOWN = 100
TASK_CHARS = 300
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 3px 10px; text-align: right; }
td:first-child, th:first-child { text-align: left; } tr:nth-child(even) { background: #f6f6f6; }
.pass { color: #2e7d32; } .fail { color: #b3261e; } .run { white-space: nowrap; }
td.task, th.task { text-align: left; max-width: 28em; overflow-wrap: anywhere; }
.warn { color: #a15c00; } .muted { color: #777; font-size: 0.85em; } .src { text-align: left; }
"""


@dataclass(frozen=True)
class SessionCost:
    """One session's spend, for the sessions table."""

    session_id: str
    path: Path
    task: str
    workspace: str
    started: str
    calls: int
    usd: Decimal
    models: list[str]
    unpriced: list[str]


@dataclass(frozen=True)
class Dashboard:
    """Every figure the page shows, computed from the session records (pure data, no HTML)."""

    spend_by_day: dict[str, dict[str, Decimal]]
    cache_share: dict[str, tuple[int, int]]
    days: list[str]
    cumulative_actual: list[Decimal]
    cumulative_reference: list[Decimal]
    dearest: list[SessionCost]
    more_sessions: int
    rows_in_force: list[PriceRow]
    report: CostReport


def dashboard_data(sessions: list[SessionUsage], report: CostReport, prices: PriceTable,
                   now: dt.datetime | None = None) -> Dashboard:
    """The dashboard's figures: spend per model per day (priced calls), cache-hit share per model, routing's
    savings over time (priced calls only), the dearest sessions and the price rows in force `now`."""
    records = [r for s in sessions for r in s.records]
    by_day: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    actual: dict[str, Decimal] = defaultdict(Decimal)
    reference: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        day = record.day.isoformat()
        if not record.priced:
            continue
        by_day[day][record.model] += record.cost_usd
        actual[day] += record.cost_usd
        reference[day] += reference_cost(record, prices) or Decimal(0)
    days = sorted(by_day)
    cumulative_actual, cumulative_reference = [], []
    running_actual = running_reference = Decimal(0)
    for day in days:
        running_actual += actual[day]
        running_reference += reference[day]
        cumulative_actual.append(running_actual)
        cumulative_reference.append(running_reference)
    ledger = Ledger.of(records)
    shares = {name: (s.cache_hit_tokens, s.input_tokens) for name, s in sorted(ledger.by_model().items())}
    dearest = sorted((_session_cost(s) for s in sessions), key=lambda c: c.usd, reverse=True)
    return Dashboard(spend_by_day={d: dict(sorted(by_day[d].items())) for d in days}, cache_share=shares, days=days,
                     cumulative_actual=cumulative_actual, cumulative_reference=cumulative_reference,
                     dearest=dearest[:SESSIONS_SHOWN], more_sessions=max(len(dearest) - SESSIONS_SHOWN, 0),
                     rows_in_force=prices.in_force(now or utc_now()), report=report)


def _session_cost(session: SessionUsage) -> SessionCost:
    ledger = Ledger.of(session.records)
    first = session.records[0]
    started = first.started_at.strftime("%Y-%m-%d %H:%M UTC") if first.started_at else first.day.isoformat()
    return SessionCost(session_id=session.session_id, path=session.path, task=session.task,
                       workspace=session.workspace, started=started, calls=ledger.calls,
                       usd=ledger.total_usd, models=sorted(ledger.by_model()), unpriced=ledger.unpriced_models())


def render_dashboard(data: Dashboard, title: str) -> str:
    """The whole page as one HTML string."""
    report = data.report
    names = sorted({*report.models, report.reference_model})
    colors = {name: color_of(i) for i, name in enumerate(names)}
    colors |= {"actual": color_of(0), f"all on {report.reference_model}": color_of(3)}
    savings = (f'routing saved <b data-usd="{report.saved_usd}">${report.saved_usd:.4f}</b> '
               f'(<b id="savings" data-percent="{report.saved_percent}">{report.saved_percent or 0:.1f}%</b>) against '
               f"${report.all_on_reference_usd:.4f} all on {escape(report.reference_model)}"
               if report.saved_usd is not None and report.all_on_reference_usd is not None
               else f"no price known for {escape(report.reference_model)}: no savings figure")
    parts = [
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p>{report.sessions} session(s), total <b id="total" data-usd="{report.total_usd}">'
        f"${report.total_usd:.4f}</b>; {savings}.</p>",
    ]
    if report.unpriced_models:
        tokens = ", ".join(f"{escape(m)} ({report.models[m].input_tokens:,} tokens in, "
                           f"{report.models[m].output_tokens:,} out)" for m in report.unpriced_models)
        parts.append(f'<p class="warn" id="unpriced">No price known for {tokens}: left out of every dollar '
                     "figure below. Add a [[prices]] row to your config to price them.</p>")
    parts += [
        *(["<h2>Spend per workspace</h2>", _workspaces_table(report)] if report.workspaces is not None else []),
        "<h2>Spend per model</h2>", _models_table(report),
        "<h2>Spend per model per day</h2>",
        stacked_bars(data.spend_by_day, colors, "spend per model per day"),
        "<h2>Cache-hit share per model</h2>",
        share_bars(data.cache_share, colors, "cache-hit share of input tokens per model"),
        f"<h2>What routing saved against all {escape(report.reference_model)}</h2>",
        lines(data.days, {"actual": data.cumulative_actual,
                          f"all on {report.reference_model}": data.cumulative_reference}, colors,
              "cumulative spend, actual and all on the reference model"),
        '<p class="muted">Cumulative dollars of the priced calls; the gap is what routing saved.</p>',
        "<h2>Spend per role</h2>", _roles_table(report),
        "<h2>Sessions, dearest first</h2>", _sessions_table(data.dearest, roll_up=report.workspaces is not None),
        f'<p class="muted">And {data.more_sessions} cheaper session(s) not listed.</p>' if data.more_sessions else "",
        '<p class="muted">Transcripts are not linked: they stay in the state directory of the machine that ran '
        "them, so this page can be shared as it is. <code>agent sessions</code> in a workspace lists its "
        "sessions; <code>agent resume ID</code> reopens one.</p>",
        "<h2>Price rows in force</h2>", _rows_table(data.rows_in_force),
        f'<p class="muted">Generated {utc_now().strftime("%Y-%m-%d %H:%M UTC")} by agent cost --html.</p>',
        "</body></html>",
    ]
    return "\n".join(parts)


def _roles_table(report: CostReport) -> str:
    """Where the dollars went by role (plan, execute, review, classify, ...): the counterfactual's split."""
    rows = ['<table id="roles"><tr><th>role</th><th>calls</th><th>USD</th><th>share</th></tr>']
    for role, spend in report.counterfactual.roles.items():
        rows.append(f'<tr class="role" data-role="{escape(role)}" data-usd="{spend.usd_exact}">'
                    f"<td>{escape(role)}</td><td>{spend.calls}</td><td>${Decimal(spend.usd_exact):.4f}</td>"
                    f"<td>{spend.share:.1%}</td></tr>")
    return "".join(rows) + "</table>"


def _models_table(report: CostReport) -> str:
    """Dollars per model (the priced ones; an unpriced model says so instead of a 0)."""
    rows = ['<table id="models"><tr><th>model</th><th>calls</th><th>input</th><th>cache hit</th><th>output</th>'
            "<th>USD</th><th>share</th></tr>"]
    for name, row in report.models.items():
        usd = Decimal(row.usd_exact) if row.usd_exact is not None else None
        share = f"{usd / report.total_usd:.1%}" if usd is not None and report.total_usd else "—"
        rows.append(f'<tr class="model" data-model="{escape(name)}" data-usd="{row.usd_exact or ""}">'
                    f"<td>{escape(name)}</td><td>{row.calls}</td><td>{row.input_tokens:,}</td>"
                    f"<td>{row.cache_hit_tokens:,}</td><td>{row.output_tokens:,}</td>"
                    f"<td>{f'${usd:.4f}' if usd is not None else 'no price'}</td><td>{share}</td></tr>")
    return "".join(rows) + "</table>"


def _workspaces_table(report: CostReport) -> str:
    """The roll-up across workspaces (`agent cost --all`), dearest first; named, never by path."""
    rows = ['<table id="workspaces"><tr><th>workspace</th><th>sessions</th><th>calls</th><th>USD</th>'
            "<th>share</th></tr>"]
    for name, line in (report.workspaces or {}).items():
        share = f"{line.usd / report.total_usd:.1%}" if report.total_usd else "—"
        unpriced = f' <span class="warn">(+{line.unpriced_calls} unpriced)</span>' if line.unpriced_calls else ""
        rows.append(f'<tr class="workspace" data-workspace="{escape(name)}" data-usd="{line.usd}">'
                    f"<td>{escape(name)}</td><td>{line.sessions}</td><td>{line.calls}</td>"
                    f"<td>${line.usd:.4f}{unpriced}</td><td>{share}</td></tr>")
    return "".join(rows) + "</table>"


def _task_cell(task: str) -> str:
    """The session's task as text (user- and model-written: escaped, never markup), cut to a readable length."""
    text = " ".join(task.split())
    cut = text[:TASK_CHARS] + ("…" if len(text) > TASK_CHARS else "")
    return f'<td class="task" title="{escape(text[:2000])}">{escape(cut) or "—"}</td>'


def _sessions_table(sessions: list[SessionCost], roll_up: bool = False) -> str:
    where = "<th>workspace</th>" if roll_up else ""
    rows = [f'<table id="sessions"><tr><th>session</th>{where}<th>started</th><th class="task">task</th>'
            "<th>calls</th><th>models</th><th>USD</th></tr>"]
    for s in sessions:
        unpriced = f' <span class="warn">+ unpriced {escape(", ".join(s.unpriced))}</span>' if s.unpriced else ""
        workspace = f"<td>{escape(s.workspace)}</td>" if roll_up else ""
        rows.append(f'<tr class="session" data-session="{escape(s.session_id)}" data-usd="{s.usd}">'
                    f"<td><code>{escape(s.session_id)}</code></td>{workspace}<td>{escape(s.started)}</td>"
                    f"{_task_cell(s.task)}<td>{s.calls}</td><td>{escape(', '.join(s.models))}</td>"
                    f"<td>${s.usd:.4f}{unpriced}</td></tr>")
    return "".join(rows) + "</table>"


def _rows_table(rows: list[PriceRow]) -> str:
    out = ["<table id=\"prices\"><tr><th>model</th><th>since</th><th>cache hit</th><th>miss</th><th>output</th>"
           "<th>peak hours (UTC)</th><th>off-peak</th><th class=\"src\">source</th></tr>"]
    for row in rows:
        since = row.since.strftime("%Y-%m-%d %H:%M UTC").replace(" 00:00 UTC", "")
        hours = ", ".join(row.peak_hours_utc) or "all day"
        off = f"×{row.offpeak_multiplier}" if row.peak_hours_utc else ""
        note = "" if row.confirmed else ' <span class="warn">(unconfirmed)</span>'
        out.append(f'<tr class="price" data-model="{escape(row.model)}"><td>{escape(row.model)}</td>'
                   f"<td>{since}</td><td>{row.cached_input}</td><td>{row.input}</td><td>{row.output}</td>"
                   f'<td>{escape(hours)}</td><td>{off}</td><td class="src">{escape(row.source)}{note}</td></tr>')
    return "".join(out) + "</table>"


def write_dashboard(path: Path, sessions: list[SessionUsage], report: CostReport, prices: PriceTable,
                    title: str = "Duet cost dashboard") -> Path:
    """Write the page atomically (a reader never sees half a file) and never through a link, on the way or in
    the file's place (tools.atomic); a clear one-line error if the place is unwritable or linked."""
    html = render_dashboard(dashboard_data(sessions, report, prices), title)
    target = Path(os.path.abspath(path.expanduser()))  # lexical: a link is refused, never resolved
    try:
        atomic_write_bytes(target, html.encode("utf-8"))
    except LinkRefused as exc:
        raise ConfigError(f"cannot write the dashboard to {path}: {exc.where} is a symbolic link; Duet does not "
                          "write through links") from None
    except OSError as exc:
        raise ConfigError(f"cannot write the dashboard to {path}: {exc.strerror or exc}") from None
    return target
