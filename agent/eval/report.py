"""Writing an eval's reports (report.md and report.html) beside its results, each replaced whole."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from agent.eval.report_html import render_html
from agent.eval.report_md import render_markdown
from agent.eval.results import EvalRow
from tools.atomic import atomic_write_bytes

REPORT_MD, REPORT_HTML = "report.md", "report.html"


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


def write_reports(out_dir: Path, rows: list[EvalRow]) -> list[Path]:
    """Both reports of `rows`; returns their paths. Never a half-written report: written aside, then renamed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((REPORT_MD, render_markdown(rows)), (REPORT_HTML, render_html(rows, out_dir))):
        path = out_dir / name
        atomic_write_bytes(path, text.encode("utf-8"))  # tools.atomic: never through a link, nothing left aside
        written.append(path)
    return written
