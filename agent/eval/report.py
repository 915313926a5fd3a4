"""Writing an eval's reports (report.md and report.html) beside its results, each replaced whole."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path

from agent.eval.report_html import render_html
from agent.eval.report_md import render_markdown
from agent.eval.results import EvalRow
from tools.atomic import atomic_write_bytes

REPORT_MD, REPORT_HTML = "report.md", "report.html"


def interrupted_lines(rows: list[EvalRow]) -> str:
    """report.md's section on the runs a stop cut short: not results, but paid for."""
    if not rows:
        return ""
    usd = sum((row.cost for row in rows), Decimal(0))
    lines = ["", "## Runs cut short by a stop", "",
             f"{len(rows)} runs were stopped mid-way (the eval was interrupted); their calls cost ${usd:.4f}, counted "
             "in the eval's spend and `--max-cost`, not in the pass rates above.", "",
             "| task | configuration | repeat | calls | dollars |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r.task} | {r.config} | {r.repeat} | {sum(m.calls for m in r.models.values())} | "
              f"${r.cost:.4f} |" for r in rows]
    return "\n".join(lines) + "\n"


def write_routing(out_dir: Path, rows: list[EvalRow], descriptions: Mapping[str, str] | None = None,
                  profiles: Collection[str] | None = None, source: str = "agent eval") -> Path | None:
    """`routing.toml` from the runs of routing profiles (None, and nothing written, when no profile was run)."""
    from agent.routing.policy import decide_policy
    from agent.routing.policy_file import ROUTING_FILE, render_policy

    decision = decide_policy(rows, profiles)
    if not decision.runs:
        return None
    path = out_dir / ROUTING_FILE
    text = render_policy(decision, dict(descriptions or {}), source=source)
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def write_reports(out_dir: Path, rows: list[EvalRow], interrupted: list[EvalRow] | None = None) -> list[Path]:
    """Both reports of `rows` (and, in report.md, what the `interrupted` runs spent); returns their paths. Never
    a half-written report: written aside, then renamed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    markdown = render_markdown(rows) + interrupted_lines(interrupted or [])
    for name, text in ((REPORT_MD, markdown), (REPORT_HTML, render_html(rows, out_dir))):
        path = out_dir / name
        atomic_write_bytes(path, text.encode("utf-8"))  # tools.atomic: never through a link, nothing left aside
        written.append(path)
    return written
