"""`agent eval` keeps its ledger honest: a results file it cannot trust is refused before any run is paid for,
a configuration whose models have no key stops before it spends, and the runs a SIGTERM cut short keep their
spend in the results (real `agent eval` processes against the fake server)."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.fakeapi import FakeAPI, Script, Turn
from tests.test_eval_safety import make_suite, run_suite

GOOD_ROW = {"task": "t", "config": "deepseek-v4-flash", "repeat": 9, "passed": True, "exit_code": 0,
            "subtype": "success", "cost_usd": 0.01, "cost_usd_exact": "0.01", "num_turns": 1, "duration_ms": 1,
            "wall_ms": 1, "session_id": "s"}


def _results_with(tmp_path: Path, text: str) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text(text)
    return out


def test_a_garbage_last_line_is_refused_before_any_run_is_paid_for(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    text = json.dumps(GOOD_ROW) + "\n" + "{garbage\n"
    out = _results_with(tmp_path, text)
    done, fake = run_suite(suite, out, [Turn(content="done")])
    assert done.returncode == 2, done.stderr
    assert fake.requests == []  # nothing was paid for
    [line] = done.stderr.strip().splitlines()
    assert f"{out / 'results.jsonl'}:2" in line and "Traceback" not in done.stderr
    assert (out / "results.jsonl").read_text() == text  # the user's file as it was


def test_a_row_of_wrong_types_is_refused_before_any_run_is_paid_for(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    for n, bad in enumerate(({**GOOD_ROW, "cost_usd_exact": "NaN"}, {**GOOD_ROW, "repeat": "x"}, [1, 2])):
        out = tmp_path / f"out{n}"
        out.mkdir()
        (out / "results.jsonl").write_text(json.dumps(bad) + "\n")
        done, fake = run_suite(suite, out, [Turn(content="done")])
        assert done.returncode == 2, (bad, done.stderr)
        assert fake.requests == [], bad
        assert f"{out / 'results.jsonl'}:1" in done.stderr.strip().splitlines()[-1]


def test_a_torn_last_line_is_dropped_with_a_note_and_the_eval_runs(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    out = _results_with(tmp_path, json.dumps(GOOD_ROW) + "\n" + json.dumps(GOOD_ROW)[:40])
    done, _ = run_suite(suite, out, [Turn(content="done")])
    assert done.returncode == 0, done.stderr
    assert "results.jsonl:2: a torn last line" in done.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["repeat"] for r in rows] == [9, 1]


def test_a_configuration_without_its_key_stops_the_eval_before_any_run(tmp_path: Path) -> None:
    import subprocess

    from tests.e2e import agent_bin
    from tests.test_eval import eval_env

    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    fake = FakeAPI(Script(turns=[Turn(content="done")])).start()
    try:
        env = {k: v for k, v in eval_env(fake.base_url).items() if k != "DEEPSEEK_API_KEY"}
        done = subprocess.run([agent_bin(), "eval", str(suite), "--route", "best,balanced", "--out",
                               str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=200,
                              stdin=subprocess.DEVNULL)
    finally:
        fake.stop()
    assert done.returncode == 2, done.stderr
    assert fake.requests == []  # nothing was paid for (before: every run fell back to gpt-5.5 as "balanced")
    [line] = done.stderr.strip().splitlines()
    assert "DEEPSEEK_API_KEY" in line and "'balanced'" in line
    assert not (tmp_path / "out" / "results.jsonl").exists() or not (tmp_path / "out" / "results.jsonl").read_text()


def test_each_row_keeps_the_models_its_run_used(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    done, _ = run_suite(suite, tmp_path / "out", [Turn(content="done")])
    assert done.returncode == 0, done.stderr
    [row] = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert list(row["models"]) == ["deepseek-v4-flash"]


def test_the_runs_a_sigterm_cut_short_keep_their_spend_in_the_results(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    from fixtures.fakeapi import ScriptedCall
    from tests.e2e import agent_bin
    from tests.test_eval import eval_env
    from tests.test_eval_safety import MODEL

    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    out = tmp_path / "out"
    read = Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"})])
    stall = Turn(content="never", keepalive=3000, keepalive_interval_s=0.1)  # the second call hangs
    fake = FakeAPI(Script(turns=[read, stall])).start()
    try:
        proc = subprocess.Popen([agent_bin(), "eval", str(suite), "--model", MODEL, "--out", str(out)],
                                env=eval_env(fake.base_url), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(fake.requests) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # a wait for the stalled call to arrive, not a timing assertion
        assert len(fake.requests) == 2
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        fake.stop()
    assert proc.returncode == 143, err
    [row] = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert row["interrupted"] and row["subtype"] == "interrupted" and not row["passed"]
    assert float(row["cost_usd_exact"]) > 0  # the finished first call was paid for, and is kept
    assert row["models"][MODEL]["calls"] >= 1
    assert "cut short" in err
    assert "## Runs cut short by a stop" in (out / "report.md").read_text()

    # Resume runs the cut run again, and the eval's spend counts both.
    done, _ = run_suite(suite, out, [Turn(content="done")])
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["interrupted"] for r in rows] == [True, False]


def test_a_pinned_configuration_whose_runs_fell_back_says_so(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, 'kind = "run"\nprompt = "hi"\ncheck = "true"\n')
    down = [Turn(model="deepseek-v4-flash", fault="503") for _ in range(4)]  # the first try and 3 retries
    done, _ = run_suite(suite, tmp_path / "out", [*down, Turn(model="gpt-5.5", content="done")])
    assert done.returncode == 0, done.stderr
    [row] = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert "gpt-5.5" in row["models"]  # the row records the model actually used
    assert "configuration 'deepseek-v4-flash''s runs also called gpt-5.5 (a fallback)" in done.stderr
