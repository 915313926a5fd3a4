"""`agent cost`: print what past sessions cost."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from agent.config import load_config
from agent.errors import ConfigError
from agent.spend.report import CostLine, build_report, usage_records


def run_cost(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    since = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            raise ConfigError(f"--since wants a date like 2026-11-01, not {args.since!r}") from None
    config = load_config(workspace)
    sessions, records = usage_records(workspace, args.session, since)
    if args.session and not sessions:
        raise ConfigError(f"no usage recorded for session {args.session!r}")
    report = build_report(sessions, records, config.price_table())
    if args.output == "json":
        print(report.model_dump_json(indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)

    def table(title: str, rows: dict[str, CostLine]) -> Table:
        t = Table(title=title, title_justify="left")
        for column in (title.split()[-1], "calls", "input", "cache hit", "output", "USD"):
            t.add_column(column, justify="left" if column == title.split()[-1] else "right")
        for name, line in rows.items():
            t.add_row(name, str(line.calls), f"{line.input_tokens:,}", f"{line.cache_hit_tokens:,}",
                      f"{line.output_tokens:,}", f"${line.usd:.4f}")
        return t

    console.print(table("Spend per model", report.by_model))
    console.print(table("Spend per day", report.by_day))
    console.print(f"{report.sessions} session(s), total ${report.total_usd:.4f}; the same tokens all on "
                  f"{report.reference_model} would cost ${report.all_on_reference_usd:.4f}: routing saved "
                  f"${report.saved_usd:.4f}")
    return 0
