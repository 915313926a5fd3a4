"""`agent eval` end to end: the installed command runs the sample suite (fixtures/eval) against the fake server
over real HTTP, each run a real `agent` process in a real temporary copy of its repository."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from fixtures import FIXTURES_DIR
from fixtures.fakeapi import FakeAPI, Script
from tests.conftest import GIT_ENV, TEST_KEY
from tests.e2e import FAST_RETRIES, agent_bin, base_env
from tests.pinned_prices import LAUNCH_PRICES

SUITE = FIXTURES_DIR / "eval" / "suite.toml"
MODELS = ["deepseek-v4-flash", "deepseek-v4-pro"]
TURNS = {"stats-mean": 3, "greet-shout": 2, "dates-spoken": 1}  # model calls each task's script makes
PASSES = {"stats-mean": True, "greet-shout": True, "dates-spoken": False}
PER_MILLION = {m: {k: Decimal(str(v)) for k, v in p.items()} for m, p in {
    "deepseek-v4-pro": {"input": 1.74, "cached_input": 0.145, "output": 3.48},
    "deepseek-v4-flash": {"input": 0.14, "cached_input": 0.028, "output": 0.28}}.items()}  # = LAUNCH_PRICES


def tree_hash(root: Path) -> str:
    """Every path, mode and byte under `root`."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(f"{path.relative_to(root)}:{path.stat().st_mode:o}\n".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def server() -> FakeAPI:
    return FakeAPI(Script.load(FIXTURES_DIR / "eval" / "fakeapi.json")).start()


def eval_env(base_url: str) -> dict[str, str]:
    """The eval's environment: the fake server, test keys, flat launch prices in the user's config."""
    config = Path(os.environ["HOME"]) / ".config" / "duet" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(FAST_RETRIES + LAUNCH_PRICES)
    env = {k: v for k, v in base_env().items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    return {**env, **GIT_ENV, "DEEPSEEK_BASE_URL": base_url, "OPENAI_BASE_URL": base_url,
            "DEEPSEEK_API_KEY": TEST_KEY, "OPENAI_API_KEY": TEST_KEY}


def eval_args(out: Path, *extra: str) -> list[str]:
    return [agent_bin(), "eval", str(SUITE), "--model", ",".join(MODELS), "--jobs", "2", "--out", str(out), *extra]


def run_eval(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def billed_usd(billed: list[tuple[str, dict]]) -> dict[str, Decimal]:
    """What the fake server's reported usage costs at the pinned prices, per model, computed here by hand."""
    spent: dict[str, Decimal] = defaultdict(Decimal)
    for model, usage in billed:
        price = PER_MILLION[model]
        spent[model] += (usage["prompt_cache_miss_tokens"] * price["input"]
                         + usage["prompt_cache_hit_tokens"] * price["cached_input"]
                         + usage["completion_tokens"] * price["output"]) / 1_000_000
    return dict(spent)


def test_eval_runs_the_suite_under_two_models_and_reports(tmp_path: Path) -> None:
    before = tree_hash(SUITE.parent)
    fake = server()
    try:
        done = run_eval(eval_args(tmp_path / "out"), eval_env(fake.base_url))
    finally:
        fake.stop()
    assert done.returncode == 0, done.stderr
    assert fake.violations == []
    rows = rows_of(tmp_path / "out")
    assert sorted((r["task"], r["config"], r["repeat"]) for r in rows) == sorted(
        (t, m, 1) for t in TURNS for m in MODELS)
    for row in rows:
        assert row["passed"] is PASSES[row["task"]], row
        assert row["check_exit_code"] == (0 if PASSES[row["task"]] else 1)
        assert list(row["models"]) == [row["config"]] and row["models"][row["config"]]["calls"] == TURNS[row["task"]]
        assert row["subtype"] == "success" and row["exit_code"] == 0  # the model ended each run; only checks differ
        assert row["tags"] and row["session_id"] and row["num_turns"] == TURNS[row["task"]]
        assert (tmp_path / "out" / "runs").glob(f"{row['task']}.{row['config']}.1.*")
    assert len(fake.billed) == 2 * sum(TURNS.values())
    # dollars: what the results say equals what the server billed, priced by hand, per model and in total
    expected = billed_usd(fake.billed)
    for model in MODELS:
        recorded = sum(Decimal(r["models"][model]["usd_exact"]) for r in rows if r["config"] == model)
        assert recorded == expected[model] > 0
    assert sum(Decimal(r["cost_usd_exact"]) for r in rows) == sum(expected.values())
    assert tree_hash(SUITE.parent) == before  # the suite's directories were only read

    report = (tmp_path / "out" / "report.md").read_text()
    assert "| all tasks | **deepseek-v4-flash** | 67% |" in report  # as good as pro, for less
    assert "| deepseek-v4-flash ◆ | 3 | 67% (2/3; 95% CI 21–94%) |" in report
    assert "| deepseek-v4-pro | 3 | 67% (2/3; 95% CI 21–94%) |" in report
    assert "### bugfix" in report and "### feature" in report
    page = (tmp_path / "out" / "report.html").read_text()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "<script" not in page
    assert page.count("<svg") == 2
    assert 'class="pareto" ' in page and 'class="pareto-front"' in page
    assert 'data-series="deepseek-v4-flash" data-usd=' in page and 'data-front="true"' in page
    assert 'data-column="bugfix"' in page and 'data-column="feature"' in page
    # The task × configuration matrix: every run's verdict and dollars, and its log by a link relative to the page
    cells = {(c["data-task"], c["data-config"]): c for c in marks_of(page, "run")}
    assert set(cells) == {(t, m) for t in TURNS for m in MODELS}
    assert all((cells[k]["data-passed"] == "true") is PASSES[k[0]] for k in cells)
    assert {k: c["data-usd"] for k, c in cells.items()} == {(r["task"], r["config"]): r["cost_usd_exact"] for r in rows}
    links = [a["href"] for a in marks_of(page, "log")]
    assert len(links) == 6 + 2 and all(not link.startswith(("/", "file:")) for link in links)  # + 2 failed-table
    assert all((tmp_path / "out" / link).is_file() for link in links)
    # A run whose check failed says so in words, not as the result's catch-all subtype
    assert page.count("tests still failing") == 4 and "error_during_execution" not in page  # 2 cells, 2 rows
    assert "| dates-spoken | deepseek-v4-flash | 1 | tests still failing | 1 |" in report


def marks_of(page: str, css_class: str) -> list[dict[str, str]]:
    """The attributes of every element of `page` with `css_class`."""
    from html.parser import HTMLParser

    found: list[dict[str, str]] = []

    class Marks(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            named = {k: v or "" for k, v in attrs}
            if css_class in named.get("class", "").split():
                found.append(named)

    Marks().feed(page)
    return found


def test_shards_are_disjoint_and_merge_back_to_the_whole_eval(tmp_path: Path) -> None:
    fake = server()
    env = eval_env(fake.base_url)
    try:
        shards = [run_eval(eval_args(tmp_path / f"shard{i}", "--shard", f"{i}/2"), env) for i in (1, 2)]
    finally:
        fake.stop()
    assert [s.returncode for s in shards] == [0, 0], [s.stderr for s in shards]
    keys = [{(r["task"], r["config"], r["repeat"]) for r in rows_of(tmp_path / f"shard{i}")} for i in (1, 2)]
    assert keys[0] and keys[1] and not keys[0] & keys[1]
    assert keys[0] | keys[1] == {(t, m, 1) for t in TURNS for m in MODELS}
    merged = subprocess.run([agent_bin(), "eval", "merge", str(tmp_path / "shard1"), str(tmp_path / "shard2"),
                             "--out", str(tmp_path / "all")], capture_output=True, text=True, timeout=60)
    assert merged.returncode == 0, merged.stderr
    rows = rows_of(tmp_path / "all")
    assert {(r["task"], r["config"], r["repeat"]) for r in rows} == keys[0] | keys[1] and len(rows) == 6
    assert "6 runs of 3 tasks under 2 configurations" in (tmp_path / "all" / "report.md").read_text()
    page = (tmp_path / "all" / "report.html").read_text()  # the logs stayed with the shards: none linked
    assert len(marks_of(page, "run")) == 6 and not marks_of(page, "log") and "no log here" in page


def test_an_interrupted_eval_resumes_without_rerunning_finished_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake = server()
    env = eval_env(fake.base_url)
    try:
        proc = subprocess.Popen(eval_args(out, "--jobs", "1"), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        results = out / "results.jsonl"
        deadline = time.monotonic() + 120
        while not (results.exists() and results.read_text().count("\n") >= 1) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "rerun the same command to resume" in err
        first = rows_of(out)
        assert 1 <= len(first) < 6
        calls_before = len(fake.requests)
        done = run_eval(eval_args(out, "--jobs", "1"), env)
    finally:
        fake.stop()
    assert done.returncode == 0, done.stderr
    rows = rows_of(out)
    assert rows[:len(first)] == first  # kept as they were
    keys = [(r["task"], r["config"], r["repeat"]) for r in rows if not r.get("interrupted")]
    assert len(keys) == len(set(keys)) == 6  # the run the stop cut short is kept as an interrupted row, run again
    # the second eval asked the model only for the runs the first did not finish
    assert len(fake.requests) - calls_before == sum(TURNS[r["task"]] for r in rows[len(first):])
