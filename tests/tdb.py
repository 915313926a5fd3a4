"""The duet bench (bench/duet_table.py) on two tasks of its suite under two profiles, through the real `agent
eval` and the real HTTP fake server: the table's figures are the exact sums of the results.jsonl ledger, and the
fake models' competence shows (cheap misses the edge case the duet's review catches)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import ModuleType

from fixtures import FIXTURES_DIR

BENCH = Path(__file__).resolve().parents[1] / "bench" / "duet_table.py"
SUITE = """[tags]
bugfix = "A plain bug."
edge-case = "The test checks one case of several."

[[task]]
id = "calc-add"
repo = "repos/calc"
test_cmd = "python -m unittest discover -s tests -q"
tags = ["bugfix"]

[[task]]
id = "duration-hours"
repo = "repos/duration"
test_cmd = "python -m unittest discover -s tests -q"
check = "python -m unittest discover -s tests -q && python -m unittest discover -s checks -q"
tags = ["edge-case"]
"""


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("duet_table", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["duet_table"] = module
    spec.loader.exec_module(module)
    return module


def _dollars(cell: str) -> Decimal:
    return Decimal(re.sub(r"\s*\(\d+%\)$", "", cell.strip()).lstrip("$"))


def _rows_of(text: str, header: str) -> dict[str, list[str]]:
    """A Markdown table of the bench's output, by its first column, from the table whose header starts so."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    out: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0]] = cells[1:]
    return out


def test_the_table_is_the_exact_sum_of_the_ledger(tmp_path: Path) -> None:
    suite_dir = tmp_path / "suite"
    for repo in ("calc", "duration"):
        shutil.copytree(FIXTURES_DIR / "bench_suite" / "repos" / repo, suite_dir / "repos" / repo)
    (suite_dir / "suite.toml").write_text(SUITE)
    bench = _bench()
    out = tmp_path / "out"
    run = bench.run_bench(suite_dir / "suite.toml", ["cheap", "duet"], out, repeat=1, jobs=2)
    assert run.skipped == {} and run.violations == []
    text = bench.table(run.rows, ["cheap", "duet"], run.skipped)

    ledger = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    assert len(ledger) == 4
    main = _rows_of(text, "| profile | runs |")
    role_header = next(line for line in text.splitlines() if line.startswith("| profile |") and "execute" in line)
    role_names = [c.strip() for c in role_header.strip("|").split("|")][1:]
    roles = _rows_of(text, role_header)
    for profile in ("cheap", "duet"):
        mine = [r for r in ledger if r["config"] == profile]
        total = sum((Decimal(r["cost_usd_exact"]) for r in mine), Decimal(0))
        passed = sum(1 for r in mine if r["passed"])
        runs, rate, per_run, per_solved, shown_total = main[profile]
        assert int(runs) == len(mine) == 2
        assert rate.startswith(f"{passed}/{len(mine)} ")
        assert _dollars(shown_total) == total
        assert _dollars(per_run) == (total / len(mine)).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
        assert _dollars(per_solved) == (total / passed).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
        spent: dict[str, Decimal] = {}
        for r in mine:
            for role, usd in r["roles"].items():
                spent[role] = spent.get(role, Decimal(0)) + Decimal(usd)
        assert sum(spent.values(), Decimal(0)) == total  # every dollar is some role's
        for name, cell in zip(role_names, roles[profile], strict=True):
            assert (cell == "—") if name not in spent else _dollars(cell) == spent[name]
    # The models differ by role and task: cheap's DeepSeek fixes minutes only; the duet's reviewer catches hours.
    assert main["cheap"][1].startswith("1/2 ") and main["duet"][1].startswith("2/2 ")
    duet_roles = dict(zip(role_names, roles["duet"], strict=True))
    assert _dollars(duet_roles["plan"]) > 0 and _dollars(duet_roles["review"]) > 0
