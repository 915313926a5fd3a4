"""`agent cost`: print what past sessions cost (text or JSON), explain each call's price, or write a dashboard."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli.outpath import output_path
from agent.config import load_config
from agent.errors import ConfigError
from agent.spend.explain import call_line
from agent.spend.report import CostLine, CostReport, build_report, every_workspace_usage, session_usage
from agent.spend.rows import ModelSpendRow
from agent.terminal_text import neutralise

if TYPE_CHECKING:
    from rich.table import Table


def run_cost(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    since = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            raise ConfigError(f"--since wants a date like 2026-11-01, not {args.since!r}") from None
    # Checked before any work: no link in the file's place or on the way to it.
    html = output_path(args.html, f"cannot write the dashboard to {args.html}") if args.html else None
    config = load_config(workspace)
    def warn(line: str) -> None:
        print(neutralise(f"agent: warning: {line}"), file=sys.stderr)

    roll_up = bool(getattr(args, "all", False))
    if roll_up:
        sessions = every_workspace_usage(args.session, since, on_skip=warn)
    else:
        sessions = session_usage(workspace, args.session, since, on_skip=warn)
    if args.session and not sessions:
        raise ConfigError(f"no usage recorded for session {args.session!r}")
    prices = config.price_table()
    report = build_report(sessions, prices, explain=args.explain, by_workspace=roll_up)
    if html is not None:
        from agent.spend.dashboard import write_dashboard

        title = "Duet cost dashboard: all workspaces" if roll_up else "Duet cost dashboard"
        print(neutralise(f"wrote {write_dashboard(html, sessions, report, prices, title)}"))
        return 0
    if args.output == "json":
        print(report.model_dump_json(indent=2, exclude_none=False))
        return 0
    print_report(report)
    return 0


def print_report(report: CostReport) -> None:
    """The report as tables for people."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if report.workspaces is not None:
        console.print(_workspace_table(report))
    models = Table(title="Spend per model", title_justify="left")
    for column in ("model", "calls", "estimated", "input", "cache hit", "output", "USD"):
        models.add_column(column, justify="left" if column == "model" else "right")
    for name, row in report.models.items():
        models.add_row(Text(neutralise(name)), str(row.calls), str(row.estimated_calls), f"{row.input_tokens:,}",
                       f"{row.cache_hit_tokens:,}", f"{row.output_tokens:,}", _usd(row))
    console.print(models)
    console.print(_day_table(report.by_day))
    if report.counterfactual.roles:
        console.print(_role_table(report))
    if report.calls is not None:
        for call in report.calls:
            console.print(neutralise(f"{call.session_id}  {call_line(call.record)}"), markup=False, soft_wrap=True)
    console.print(f"{report.sessions} session(s), total ${report.total_usd:.4f}", markup=False, end="")
    if report.saved_usd is not None and report.all_on_reference_usd is not None:
        console.print(f"; the same tokens all on {neutralise(report.reference_model)} would cost "
                      f"${report.all_on_reference_usd:.4f}: routing saved ${report.saved_usd:.4f} "
                      f"({report.saved_percent or 0:.1f}%)", markup=False)
    else:
        console.print(f"; no price known for {neutralise(report.reference_model)}, so no savings figure", markup=False)
    for name in report.unpriced_models:
        row = report.models[name]
        console.print(f"no price known for {neutralise(name)}: its {row.calls} call(s) "
                      f"({row.input_tokens:,} tokens in, "
                      f"{row.output_tokens:,} out) are left out of the total and the savings; add a [[prices]] "
                      "row to your config to price them", style="yellow", markup=False)


def _usd(row: ModelSpendRow) -> str:
    if not row.priced or row.usd_exact is None:
        return "no price"
    return f"${Decimal(row.usd_exact):.4f}"


def _day_table(days: dict[str, CostLine]) -> Table:
    from rich.table import Table

    table = Table(title="Spend per day", title_justify="left")
    for column in ("day", "calls", "input", "cache hit", "output", "USD"):
        table.add_column(column, justify="left" if column == "day" else "right")
    for day, line in days.items():
        usd = f"${line.usd:.4f}" + (f" (+{line.unpriced_calls} unpriced)" if line.unpriced_calls else "")
        table.add_row(day, str(line.calls), f"{line.input_tokens:,}", f"{line.cache_hit_tokens:,}",
                      f"{line.output_tokens:,}", usd)
    return table


def _role_table(report: CostReport) -> Table:
    """Where the dollars went, per role, beside the same tokens all on the reference model."""
    from rich.table import Table

    view = report.counterfactual
    table = Table(title="Spend per role", title_justify="left")
    for column in ("role", "calls", "USD", "share"):
        table.add_column(column, justify="left" if column == "role" else "right")
    for role, row in view.roles.items():
        usd = f"${Decimal(row.usd_exact):.4f}" + (f" (+{row.unpriced_calls} unpriced)" if row.unpriced_calls else "")
        table.add_row(role, str(row.calls), usd, f"{row.share:.1%}")
    return table


def _workspace_table(report: CostReport) -> Table:
    """`--all`: each workspace's sessions, calls and dollars, dearest first."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Spend per workspace", title_justify="left")
    for column in ("workspace", "sessions", "calls", "USD"):
        table.add_column(column, justify="left" if column == "workspace" else "right")
    for name, line in (report.workspaces or {}).items():
        usd = f"${line.usd:.4f}" + (f" (+{line.unpriced_calls} unpriced)" if line.unpriced_calls else "")
        table.add_row(Text(neutralise(name)), str(line.sessions), str(line.calls), usd)
    return table
