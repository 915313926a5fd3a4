"""GitHub Actions: when `GITHUB_STEP_SUMMARY` names a file, append a markdown summary of the run to it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from agent.result import RunResult, TestsSummary
from agent.spend.counterfactual import counterfactual_lines

STEP_SUMMARY_VAR = "GITHUB_STEP_SUMMARY"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _tests(tests: TestsSummary | None) -> str:
    if tests is None:
        return "not run"
    return f"{'✅' if tests.passed else '❌'} {_cell(tests.summary)} (`{_cell(tests.command)}`)"


def step_summary_markdown(result: RunResult, command: str) -> str:
    """The markdown GitHub shows on the run's summary page: outcome, tests, cost per model, files changed."""
    icon = "✅" if not result.is_error else "❌"
    lines = [f"### {icon} Duet `{command}`: {result.outcome.value} (exit {result.exit_code})", "",
             _cell(result.message), "",
             "| | |", "|---|---|",
             f"| outcome | `{result.subtype}` |",
             f"| tests before | {_tests(result.tests_before)} |",
             f"| tests after | {_tests(result.tests_after)} |",
             f"| session | `{result.session_id}` |", ""]
    lines += ["| model | calls | input tokens | cache hit | output tokens | cost |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, m in result.models.items():
        lines.append(f"| {_cell(name)} | {m.calls} | {m.input_tokens:,} | {m.cache_hit_tokens:,} | "
                     f"{m.output_tokens:,} | {f'${m.usd:.4f}' if m.usd is not None else 'no price'} |")
    lines += [f"| **total** | | | | | **${result.total_cost_usd:.4f}** |", ""]
    lines += [f"{_cell(line)}  " for line in counterfactual_lines(result.counterfactual)[1:]] + [""]
    if result.unpriced_models:
        lines += [f"No price known for {', '.join(result.unpriced_models)}: not counted in the total.", ""]
    if result.files_changed:
        lines.append("Files changed:")
        lines += [f"- `{_cell(path)}` ({action})" for path, action in result.files_changed.items()]
    else:
        lines.append("No files changed.")
    return "\n".join(lines) + "\n\n"


def write_step_summary(result: RunResult, command: str, environ: Mapping[str, str] | None = None) -> None:
    """Append the summary when running under GitHub Actions; a file that cannot be written is only a warning."""
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_VAR)
    if not target:
        return
    try:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(step_summary_markdown(result, command))
    except OSError as exc:
        print(f"agent: warning: cannot write the step summary to {target}: {exc.strerror}", file=sys.stderr)
