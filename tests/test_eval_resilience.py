"""`agent eval` when things are not as planned: a torn results file, an unusable --out, one task's broken
configuration, configurations that finished different runs, a merge missing a shard, the user's MCP servers,
symlinks out of a task repository (real processes against the fake server, real files)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from agent.eval.recommend import recommend
from agent.eval.report_md import render_markdown
from agent.eval.results import EvalRow, ResultsFile, read_rows
from fixtures.fakeapi import FakeAPI, Script, ScriptedCall, Turn
from tests.e2e import agent_bin
from tests.mcp_helpers import starts, stdio_server
from tests.test_eval import eval_args, eval_env, rows_of, server
from tests.test_eval_safety import MODEL, make_suite, run_suite


def row(task: str, config: str, passed: bool, usd: str, repeat: int = 1) -> EvalRow:
    return EvalRow(task=task, config=config, repeat=repeat, passed=passed, exit_code=0, subtype="success",
                   cost_usd=float(usd), cost_usd_exact=usd, num_turns=1, duration_ms=1, wall_ms=1, session_id="s")


def test_a_torn_last_line_is_cut_before_the_next_row_is_appended(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path)
    first, second = row("a", "m", True, "0.01"), row("b", "m", True, "0.02")
    for torn in (second.model_dump_json()[:40].encode(),  # torn mid-line
                 b'{"task":"x","check_output":"caf' + "é".encode()[:1]):  # torn inside a multi-byte character
        results.path.write_bytes(first.model_dump_json().encode() + b"\n" + torn)
        assert read_rows(results.path) == [first]  # neither an error nor a UnicodeDecodeError
        results.create()
        results.append(second)
        assert read_rows(results.path) == [first, second]


def test_an_unusable_out_is_refused_before_any_run(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    (tmp_path / "out").write_text("not a directory")
    done, fake = run_suite(suite, tmp_path / "out", [Turn(content="done")])
    assert done.returncode == 2, done.stderr
    assert "not a directory" in done.stderr and "Traceback" not in done.stderr
    assert fake.requests == []  # nothing was paid for
    assert (tmp_path / "out").read_text() == "not a directory"


def test_one_tasks_broken_config_fails_only_its_runs(tmp_path: Path) -> None:
    suite_dir = tmp_path / "suite"
    for name in "abc":
        (suite_dir / name).mkdir(parents=True)
        (suite_dir / name / "f.txt").write_text("x\n")
    (suite_dir / "a" / ".duet").mkdir()
    (suite_dir / "a" / ".duet" / "config.toml").write_text("max_turns = 0\n")
    (suite_dir / "suite.toml").write_text("".join(
        f'[[task]]\nid = "{t}"\nrepo = "{t}"\nkind = "run"\nprompt = "task {t}"\ncheck = "true"\n' for t in "abc"))
    fake = FakeAPI(Script(conversations={f"task {t}": [Turn(content="done")] for t in "abc"})).start()
    try:
        done = subprocess.run([agent_bin(), "eval", str(suite_dir / "suite.toml"), "--model", MODEL, "--out",
                               str(tmp_path / "out")], env=eval_env(fake.base_url), capture_output=True, text=True,
                              timeout=200)
    finally:
        fake.stop()
    assert done.returncode == 1, done.stderr  # some runs could not be carried out; the others were
    assert sorted(r["task"] for r in rows_of(tmp_path / "out")) == ["b", "c"]
    assert "a · deepseek-v4-flash · #1: not run" in done.stderr
    assert str(suite_dir / "a" / ".duet" / "config.toml") in done.stderr  # named where the user can fix it


def test_the_recommendation_compares_configurations_on_the_runs_all_finished() -> None:
    # cheap ran both tasks and failed the hard one; dear skipped the hard one (a --max-cost stop, a lost shard)
    rows = [row("easy", "cheap", True, "0.01"), row("hard", "cheap", False, "0.01"), row("easy", "dear", True, "0.05")]
    [overall] = [r for r in recommend(rows) if r.tag == "all tasks"]
    assert overall.config == "cheap" and overall.pass_rate == 1.0
    report = render_markdown(rows)
    assert "Unequal coverage" in report and "cheap 2, dear 1" in report
    assert "Unequal coverage" not in render_markdown([rows[0], rows[2]])


def test_merge_says_when_a_shard_is_missing(tmp_path: Path) -> None:
    fake = server()
    try:
        shard = subprocess.run(eval_args(tmp_path / "shard1", "--shard", "1/2"), env=eval_env(fake.base_url),
                               capture_output=True, text=True, timeout=300)
    finally:
        fake.stop()
    assert shard.returncode == 0, shard.stderr
    merged = subprocess.run([agent_bin(), "eval", "merge", str(tmp_path / "shard1"), "--out", str(tmp_path / "all")],
                            capture_output=True, text=True, timeout=60)
    assert merged.returncode == 1, merged.stderr
    assert "incomplete: 3 of the 6 planned runs" in merged.stderr
    assert (tmp_path / "all" / "report.md").is_file()  # the partial report is still written


def test_eval_runs_start_the_users_mcp_servers_only_with_the_users_flag(tmp_path: Path) -> None:
    import os

    marker = tmp_path / "started"
    config = Path(os.environ["HOME"]) / ".config" / "duet" / "config.toml"
    # The suite asking is not enough: only `--mcp` (the user's choice) starts them.
    for ask, flag, out in (("", [], "off"), ("mcp = true\n", [], "asked"), ("", ["--mcp"], "on")):
        suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
        suite.write_text(ask + suite.read_text())
        fake = FakeAPI(Script(turns=[Turn(content="done")])).start()
        before = len(starts(marker))
        try:
            env = eval_env(fake.base_url)  # writes the user's config afresh
            entry = stdio_server(marker)
            config.write_text(config.read_text() + f"\n[mcp_servers.tickets]\ncommand = {json.dumps(entry['command'])}"
                              f"\nargs = {json.dumps(entry['args'])}\n")
            done = subprocess.run([agent_bin(), "eval", str(suite), "--model", MODEL, "--out", str(tmp_path / out),
                                   *flag], env=env, capture_output=True, text=True, timeout=200)
        finally:
            fake.stop()
        assert done.returncode == 0, done.stderr
        assert len(starts(marker)) - before == (1 if flag else 0), out
        assert ("`mcp = true` is ignored" in done.stderr) == bool(ask), done.stderr


def test_a_symlink_out_of_the_task_repository_is_not_a_way_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside\n")
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\n'
                       'check = "echo changed > out/secret.txt; cat inner/data.txt; test ! -e out"\n',
                       {"data/data.txt": "inside\n"})
    repo = suite.parent / "repo"
    (repo / "out").symlink_to(outside)
    (repo / "inner").symlink_to(repo / "data")  # absolute, to the suite's own repository: copied as contents
    edit = Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "echo model >> inner/data.txt"})])
    done, _ = run_suite(suite, tmp_path / "out-dir", [edit, Turn(content="done")], "--sandbox", "off")
    assert done.returncode == 0, done.stderr
    [result] = rows_of(tmp_path / "out-dir")
    assert (outside / "secret.txt").read_text() == "outside\n"
    assert (repo / "data" / "data.txt").read_text() == "inside\n"  # the suite's repository was only read
    assert "inside\nmodel" in result["check_output"]
    [log] = (tmp_path / "out-dir" / "runs").glob("*.log")
    assert "out: a symlink to" in log.read_text() and "left out of the copy" in log.read_text()
