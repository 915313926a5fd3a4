"""`agent eval`'s parts: the suite file's checks, the plan and its shards, results.jsonl, the report's figures,
and the harness's own failures (real processes, real files)."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.eval.plan import EvalConfig, RunKey, Shard, configurations, plan_runs
from agent.eval.recommend import recommend
from agent.eval.report_html import render_html
from agent.eval.results import EvalRow, ResultsFile, read_rows, unique_rows
from agent.eval.stats import config_stats, pareto_front
from agent.eval.suite import load_suite
from fixtures import FIXTURES_DIR
from fixtures.fakeapi import FakeAPI, Script, Turn
from tests.e2e import agent_bin
from tests.test_eval import MODELS, SUITE, eval_env, rows_of


def write_suite(tmp_path: Path, body: str) -> Path:
    (tmp_path / "repo").mkdir(exist_ok=True)
    path = tmp_path / "suite.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(("body", "says"), [
    ("[[task]]\nid = \"a\"\nrepo = \"repo\"\nflavour = \"x\"\n", "task 'a': flavour: unknown field"),
    ("[[task]]\nid = \"a\"\nrepo = \"repo\"\n[[task]]\nid = \"a\"\nrepo = \"repo\"\n", "'a' is used twice"),
    ("[[task]]\nid = \"a\"\nrepo = \"nowhere\"\n", "repo 'nowhere' is not a directory"),
    ("[[task]]\nid = \"a\"\nrepo = \"repo\"\nkind = \"run\"\ncheck = \"true\"\n", 'kind = "run" needs a prompt'),
    ("[[task]]\nid = \"a\"\nrepo = \"repo\"\nimages = [\"x.png\"]\n", "image 'x.png' is not a file"),
    ("[[task]]\nid = \"a/b\"\nrepo = \"repo\"\n", "task 'a/b': id: must be a plain name"),
    ("[[task]]\nid = \"a\"\nrepo = \"repo\"\nmax_cost = -1\n", "max_cost: Input should be greater than 0"),
    ("[[task]\nid = 1", "not valid TOML"),
    ("title = \"no tasks\"\n", "task: Field required"),
])
def test_a_bad_suite_is_one_clear_line(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_suite(write_suite(tmp_path, body))
    message = str(caught.value)
    assert says in message and "\n" not in message and str(tmp_path / "suite.toml") in message


def test_paths_are_relative_to_the_suite_file_wherever_the_eval_starts(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    suite = load_suite(Path(os.path.relpath(SUITE, tmp_path)))
    assert [t.id for t in suite.tasks] == ["stats-mean", "greet-shout", "dates-spoken"]
    assert suite.repo_of(suite.task("stats-mean")) == FIXTURES_DIR / "eval" / "repos" / "stats"


def test_the_command_line_reports_a_bad_suite_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "[[task]]\nid = \"a\"\nrepo = \"repo\"\nflavour = \"x\"\n")
    done = subprocess.run([agent_bin(), "eval", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "flavour: unknown field" in done.stderr
    assert not (tmp_path / "out").exists()
    bad_route = subprocess.run([agent_bin(), "eval", str(SUITE), "--route", "cheapest", "--out", str(tmp_path)],
                               capture_output=True, text=True, timeout=60)
    assert bad_route.returncode == 2 and "--route 'cheapest'" in bad_route.stderr


def test_the_plan_is_every_run_sorted_whatever_the_order_of_the_flags() -> None:
    a = plan_runs(["t2", "t1"], configurations(["cheap"], ["m1"]), 2)
    b = plan_runs(["t1", "t2"], configurations([], ["m1"]) + configurations(["cheap"], []), 2)
    assert a == b and len(a) == 8 and a[0] == RunKey("t1", "cheap", 1)
    assert configurations([], []) == [EvalConfig(name="default")]
    with pytest.raises(ConfigError, match="given twice"):
        configurations(["cheap"], ["cheap"])


def test_a_shard_with_nothing_to_run_still_merges(tmp_path: Path) -> None:
    shard = subprocess.run([agent_bin(), "eval", str(SUITE), "--shard", "5/5", "--out", str(tmp_path / "s5")],
                           capture_output=True, text=True, timeout=60)  # 3 runs over 5 shards: the 5th is empty
    assert shard.returncode == 0, shard.stderr
    merged = subprocess.run([agent_bin(), "eval", "merge", str(tmp_path / "s5"), "--out", str(tmp_path / "all")],
                            capture_output=True, text=True, timeout=60)
    assert merged.returncode == 1, merged.stderr  # merged, but the other shards' runs are missing: said
    assert "0 runs from 1 directories" in merged.stderr and "incomplete: 3 of the 3 planned runs" in merged.stderr


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 40])
def test_shards_are_disjoint_and_together_complete(count: int) -> None:
    runs = plan_runs([f"t{i}" for i in range(7)], configurations(["cheap", "best"], ["m"]), 2)
    slices = [Shard(i, count).select(list(reversed(runs))) for i in range(1, count + 1)]
    seen = [key for part in slices for key in part]
    assert sorted(seen) == runs and len(seen) == len(set(seen))
    assert max(map(len, slices)) - min(map(len, slices)) <= 1
    assert slices == [Shard(i, count).select(runs) for i in range(1, count + 1)]  # deterministic


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "a/b", "1", "1/2/3"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        Shard.parse(text)


def row(task: str, config: str, passed: bool, usd: str, repeat: int = 1, tags: tuple[str, ...] = ()) -> EvalRow:
    return EvalRow(task=task, config=config, repeat=repeat, passed=passed, exit_code=0, subtype="success",
                   cost_usd=float(usd), cost_usd_exact=usd, num_turns=2, duration_ms=1000, wall_ms=1100,
                   session_id="s", tags=list(tags))


def test_results_survive_a_torn_last_line_and_refuse_a_foreign_file(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path)
    results.append(row("a", "m", True, "0.01"))
    results.append(row("b", "m", False, "0.02"))
    with results.path.open("a") as handle:
        handle.write('{"task": "c", "config": "m", "rep')  # the machine died mid-write
    assert [r.task for r in results.read()] == ["a", "b"]
    results.path.write_text("not json\n" + row("a", "m", True, "0.01").model_dump_json() + "\n")
    with pytest.raises(ConfigError, match=r"results\.jsonl:1"):
        read_rows(results.path)


def test_merge_keeps_each_run_once() -> None:
    rows = [row("b", "m", True, "0.01"), row("a", "m", True, "0.01"), row("b", "m", False, "0.09")]
    kept = unique_rows(rows)
    assert [(r.task, r.passed) for r in kept] == [("a", True), ("b", True)]


def test_pareto_front_and_recommendation_per_tag() -> None:
    rows = [
        # cheap: half the bugfixes, all docs, for little; mid: as good as cheap but dearer (dominated);
        # best: every bugfix, dear
        row("fix1", "cheap", True, "0.01", tags=("bugfix",)), row("fix2", "cheap", False, "0.01", tags=("bugfix",)),
        row("doc", "cheap", True, "0.01", tags=("docs",)),
        row("fix1", "mid", True, "0.05", tags=("bugfix",)), row("fix2", "mid", False, "0.05", tags=("bugfix",)),
        row("doc", "mid", True, "0.05", tags=("docs",)),
        row("fix1", "best", True, "0.40", tags=("bugfix",)), row("fix2", "best", True, "0.40", tags=("bugfix",)),
        row("doc", "best", True, "0.40", tags=("docs",)),
    ]
    stats = {s.config: s for s in config_stats(rows)}
    assert stats["cheap"].cost_per_solved == Decimal("0.015") and stats["best"].pass_rate == 1.0
    assert pareto_front(list(stats.values())) == ["cheap", "best"]
    picks = {r.tag: r.config for r in recommend(rows)}
    assert picks == {"all tasks": "best", "bugfix": "best", "docs": "cheap"}
    page = render_html(rows)
    front = [line for line in page.split("<circle") if 'class="pareto"' in line]
    assert len(front) == 2 and 'data-front="false"' in page  # mid is drawn, not ringed
    nobody = recommend([row("x", "m", False, "0.01", tags=("hard",))])
    assert nobody[-1].tag == "hard" and nobody[-1].config is None


def test_a_failed_setup_is_a_harness_error_and_runs_again_later(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "[[task]]\nid = \"a\"\nrepo = \"repo\"\nsetup = \"echo nope >&2; exit 3\"\n"
                                 "check = \"true\"\n")
    args = [agent_bin(), "eval", str(path), "--out", str(tmp_path / "out")]
    env = eval_env("http://127.0.0.1:9/v1")  # the keys are there (checked first); the setup fails
    for _ in range(2):
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 1, done.stderr
        assert "a · default · #1: not run: setup exited 3: nope" in done.stderr
        assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "results.jsonl").read_text() == ""
    assert "No finished runs yet" in (tmp_path / "out" / "report.md").read_text()


def test_a_missing_key_stops_the_eval_with_exit_2(tmp_path: Path) -> None:
    env = eval_env("http://127.0.0.1:9/v1")
    del env["DEEPSEEK_API_KEY"]
    done = subprocess.run([agent_bin(), "eval", str(SUITE), "--model", "deepseek-v4-flash", "--jobs", "1",
                           "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "DEEPSEEK_API_KEY is not set" in done.stderr
    assert "not run:" not in done.stderr  # refused before any run started


def test_the_overall_budget_stops_new_runs(tmp_path: Path) -> None:
    fake = FakeAPI(Script.load(FIXTURES_DIR / "eval" / "fakeapi.json")).start()
    try:
        done = subprocess.run([agent_bin(), "eval", str(SUITE), "--model", MODELS[1], "--jobs", "1",
                               "--max-cost", "0.000001", "--out", str(tmp_path / "out")],
                              env=eval_env(fake.base_url), capture_output=True, text=True, timeout=120)
    finally:
        fake.stop()
    assert done.returncode == 3, done.stderr
    assert len(rows_of(tmp_path / "out")) == 1 and "2 runs not started" in done.stderr
    assert json.loads((tmp_path / "out" / "results.jsonl").read_text())["cost_usd"] > 0


@pytest.mark.parametrize("live", [True, False])
def test_progress_shows_runs_done_passing_and_dollars(live: bool) -> None:
    import io

    from agent.eval.progress import EvalProgress

    stream = io.StringIO()
    with EvalProgress(3, [row("a", "m", True, "0.01")], stream=stream, live=live) as progress:
        progress.finished(row("b", "m", False, "0.02"))
        progress.failed(RunKey("c", "m", 1), "setup exited 1")
    text = stream.getvalue()
    assert "[2/3] b · m · #1 FAILED $0.0200" in text and "passing 1 · $0.0300 so far" in text
    assert "c · m · #1: harness error: setup exited 1" in text
    if live:
        assert "2/3" in text and "1 harness errors" in text


def test_a_worktree_task_gets_a_repository_of_its_own(repo: Path, tmp_path: Path) -> None:
    from tests.conftest import git
    from tests.test_eval import tree_hash

    main = repo
    git(main, "worktree", "add", "-q", str(tmp_path / "wt"))
    assert (tmp_path / "wt" / ".git").is_file()
    suite = tmp_path / "suite.toml"
    suite.write_text('[[task]]\nid = "wt"\nrepo = "wt"\nkind = "run"\nprompt = "Worktree task: say hi."\n'
                     'check = "test -d .git && test \\"$(git log --format=%s)\\" = \\"eval: task as given\\""\n')
    before = tree_hash(main / ".git")
    fake = FakeAPI(conversations={"Worktree task": [Turn(content="hi")]}).start()
    try:
        done = subprocess.run([agent_bin(), "eval", str(suite), "--model", MODELS[0], "--out", str(tmp_path / "out")],
                              env=eval_env(fake.base_url), capture_output=True, text=True, timeout=120)
    finally:
        fake.stop()
    assert done.returncode == 0, done.stderr
    assert rows_of(tmp_path / "out")[0]["passed"] is True
    assert tree_hash(main / ".git") == before and (tmp_path / "wt" / ".git").is_file()


def test_each_run_is_a_headless_full_auto_agent_in_its_copy(tmp_path: Path) -> None:
    from agent.eval.runner import RunSettings, agent_command
    from tests.helpers import tiny_png

    (tmp_path / "shots").mkdir()
    tiny_png(tmp_path / "shots" / "error.png")
    path = write_suite(tmp_path, '[[task]]\nid = "ui"\nrepo = "repo"\nkind = "run"\nprompt = "Fix the layout"\n'
                                 'check = "true"\nimages = ["shots/error.png"]\nmax_cost = 0.25\ntimeout = 90\n'
                                 '[[task]]\nid = "fix"\nrepo = "repo"\ntest_cmd = "make test"\n')
    suite = load_suite(path)
    settings = RunSettings(suite=suite, out_dir=tmp_path / "out", env={}, sandbox="on", agent_argv=["agent"])
    copy = tmp_path / "copy"
    run = agent_command(settings, suite.task("ui"), EvalConfig(name="cheap", route="cheap"), copy)
    assert run == ["agent", "run", "Fix the layout", "--output", "json", "--approval", "full-auto", "-C", str(copy),
                   "--route", "cheap", "--max-cost", "0.25", "--timeout", "90.0", "--sandbox", "on",
                   "--no-mcp", "--image", str(tmp_path / "shots" / "error.png")]
    fix = agent_command(settings, suite.task("fix"), EvalConfig(name="m", model="m"), copy)
    assert fix[:4] == ["agent", "fix-tests", "--test-cmd", "make test"]
    assert fix[-5:] == ["--model", "m", "--sandbox", "on", "--no-mcp"]
