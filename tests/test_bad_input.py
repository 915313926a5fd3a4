"""Bad input is one line and exit 2, never `internal error`; a bad tool name is the model's error, not ours."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agent.transcript import sessions_dir
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_cli


def one_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.strip().count("\n") == 0 and "internal error" not in result.stderr, result.stderr
    return result.stderr


def test_undecodable_or_binary_config(tmp_path: Path) -> None:
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet/config.toml").write_bytes(b"approval = '\xff\xfe'\n")
    assert "not UTF-8" in one_line(run_cli(["run", "x"], tmp_path))
    (tmp_path / ".duet/config.toml").write_bytes(b"\x00\x01\x02binary")
    assert "binary" in one_line(run_cli(["run", "x"], tmp_path))


def test_binary_or_undecodable_transcript(tmp_path: Path) -> None:
    directory = sessions_dir(tmp_path)
    (directory / "20260101-000000-aaaaaa.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert "binary" in one_line(run_cli(["resume", "--last", "-m", "go on"], tmp_path))
    (directory / "20260101-000000-aaaaaa.jsonl").write_bytes(b'{"type": "user.message", "content": "\xff"}\n')
    assert "not UTF-8" in one_line(run_cli(["resume", "--last", "-m", "go on"], tmp_path))


def test_bad_image(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="unused")])
    (tmp_path / "shot.png").write_bytes(b"\xff\xfenot an image at all")
    assert "not a PNG" in one_line(run_cli(["run", "x", "--image", "shot.png"], tmp_path, server.base_url))
    assert "no such file" in one_line(run_cli(["run", "x", "--image", "gone.png"], tmp_path, server.base_url))


def test_empty_and_unknown_tool_names_go_back_to_the_model_and_resume_works(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name=""), ScriptedCall(name="no_such_tool")]),
                       Turn(content="sorry, done"), Turn(content="resumed fine")])
    first = run_cli(["run", "go", "--approval", "full-auto", "--output", "json"], tmp_path, server.base_url)
    assert first.returncode == 0, first.stdout + first.stderr
    results = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert len(results) == 2 and all("error" in m["content"] for m in results)
    assert "unknown tool 'no_such_tool'" in results[1]["content"]
    again = run_cli(["resume", "--last", "-m", "and now?", "--output", "json"], tmp_path, server.base_url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert server.violations == []


def _start_and_stop(tmp_path: Path, base_url: str, sig: int) -> None:
    from tests.e2e import start_run_until_tool

    proc = start_run_until_tool(tmp_path, base_url)
    proc.send_signal(sig)
    proc.communicate(timeout=20)


def test_resume_reports_an_interrupted_command_as_interrupted(tmp_path: Path, fake_api) -> None:
    import signal

    from agent.history import RUNNING_RESULT
    from agent.transcript import all_sessions

    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 3"})]),
                       Turn(content="I see it was cut off")])
    _start_and_stop(tmp_path, server.base_url, signal.SIGKILL)  # no chance to record anything more
    again = run_cli(["resume", "--last", "-m", "what happened?", "--output", "json"], tmp_path, server.base_url)
    assert again.returncode == 0, again.stdout + again.stderr
    results = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert results == [RUNNING_RESULT]
    server.add(Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 3"})]))
    for path in all_sessions(tmp_path):
        path.unlink()
    _start_and_stop(tmp_path, server.base_url, signal.SIGINT)
    assert RUNNING_RESULT.replace('"', '\\"') in all_sessions(tmp_path)[0].read_text()


def test_escape_sequences_from_model_and_tools_are_neutralised_in_text_output(tmp_path: Path, fake_api,
                                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    hostile = "\x1b]0;pwned\x07\x1b[2Jcleared \x9b31m"
    server = fake_api([Turn(content="look: " + hostile, tool_calls=[ScriptedCall(
        name="shell", arguments={"command": r"printf '\033[2J\033]0;title\007tool says hi'"})]),
        Turn(content="done " + hostile)])
    monkeypatch.setenv("FORCE_COLOR", "1")  # Duet's own colours must survive
    result = run_cli(["run", "go", "--approval", "full-auto", "--output", "text"], tmp_path, server.base_url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b]" not in out and "\x1b[2J" not in out and "\x07" not in out and "\x9b" not in out
    assert "^[]0;pwned^G^[[2Jcleared" in out and "tool says hi" in out
    assert "\x1b[" in out  # styles Duet applied itself


def test_safe_event_keeps_text_and_neutralises_controls() -> None:
    from agent.events import ToolFinished
    from agent.terminal_text import neutralise, safe_event

    event = ToolFinished(call_id="c", name="shell", ok=True, output="a\tb\r\nc\x1b[1mbold\x7f")
    assert safe_event(event).output == "a\tb\nc^[[1mbold^?"
    plain = ToolFinished(call_id="c", name="shell", ok=True, output="plain\ttext\n")
    assert safe_event(plain) is plain and neutralise("ünïcode ✓") == "ünïcode ✓"


async def test_search_says_which_files_it_skipped_and_why(tmp_path: Path) -> None:
    import shutil

    from tools.base import ToolContext
    from tools.search import SearchArgs, SearchTool, python_search, ripgrep_search

    (tmp_path / "big.log").write_text("needle\n" * 700_000)  # over 4 MB
    (tmp_path / "credentials.json").write_text('{"needle": "x"}')
    (tmp_path / "blob.bin").write_bytes(b"needle\x00\x01")
    (tmp_path / "small.txt").write_text("no match here\n")
    ctx = ToolContext(root=tmp_path)
    result = await SearchTool().run(SearchArgs(pattern="needle"), ctx)
    assert result.output.startswith("no matches")
    assert "[matches not shown, over the 4 MB size cap: big.log]" in result.output
    assert "[not searched, secret files: credentials.json]" in result.output
    skipped: dict[str, list[str]] = {}
    python_search(ctx, SearchArgs(pattern="needle"), skipped)
    assert skipped == {"not searched, secret files": ["credentials.json"],
                       "not searched, over the 4 MB size cap": ["big.log"], "not searched, binary": ["blob.bin"]}
    if shutil.which("rg"):
        by_rg: dict[str, list[str]] = {}
        assert (await ripgrep_search(shutil.which("rg") or "rg", ctx, SearchArgs(pattern="needle"), by_rg)).hits == []
        assert by_rg == {"not searched, secret files": ["credentials.json"],
                         "matches not shown, over the 4 MB size cap": ["big.log"]}


def test_an_export_to_a_bad_path_fails_at_once_and_an_export_is_never_packed_into_itself(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def main():\n    return 1\n")
    assert "not a regular file" in one_line(run_cli(["context", "--whole", "--out", str(tmp_path)], tmp_path))
    (tmp_path / "link.xml").symlink_to(tmp_path / "elsewhere.xml")  # written through, or replaced: neither
    assert "not a regular file" in one_line(run_cli(["context", "--whole", "--out", "link.xml"], tmp_path))
    (tmp_path / "link.xml").unlink()
    missing = tmp_path / "no" / "such" / "pack.xml"
    assert "does not exist" in one_line(run_cli(["context", "--whole", "--out", str(missing)], tmp_path))
    for _ in range(2):  # the second export finds the first in the workspace
        done = run_cli(["context", "--whole", "--out", "pack.xml", "--explain"], tmp_path)
        assert done.returncode == 0, done.stderr
    pack = (tmp_path / "pack.xml").read_text()
    assert '<file path="app.py">' in pack and '<file path="pack.xml">' not in pack
    assert "pack.xml" not in done.stdout.split("packed:")[1].split("\n\n")[0]


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_crashes_nothing(tmp_path: Path, fake_api) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "ok.py").write_text("needle\n")
    with open(os.path.join(os.fsencode(work), b"bad\xffname.py"), "wb") as out:
        out.write(b"needle\n")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files"),
                                        ScriptedCall(name="search", arguments={"pattern": "needle"})]),
                       Turn(content="done")])
    result = run_cli(["run", "look", "--approval", "full-auto", "--output", "stream-json"], work, server.base_url)
    assert result.returncode == 0, result.stderr
    sent = json.dumps(server.requests[1]["messages"])
    assert "bad\\\\xffname.py" in sent  # the name's byte, shown; the request could be encoded
    assert "bad\\\\xffname.py" in json.dumps(server.requests[0]["messages"][0])  # the pack's tree too


def test_special_files_and_a_damaged_transcript_in_the_sessions_dir_hang_or_block_nothing(tmp_path: Path,
                                                                                          fake_api) -> None:
    server = fake_api([Turn(content="first"), Turn(content="second")])
    first = run_cli(["run", "hello", "--output", "json"], tmp_path, server.base_url)
    assert first.returncode == 0, first.stderr
    sessions = sessions_dir(tmp_path)
    os.mkfifo(sessions / "20260101-000000-fifo00.jsonl")  # would block a reader forever
    (sessions / "20260101-000000-zero00.jsonl").symlink_to("/dev/zero")  # would grow without end
    (sessions / "20260101-000000-bad000.jsonl").write_bytes(b"\x00\x01 not a transcript")
    cost = run_cli(["cost", "--output", "json"], tmp_path, timeout=60)
    assert cost.returncode == 0, cost.stderr
    assert "bad000" in cost.stderr and "skipped" in cost.stderr  # said once, and the rest is still counted
    assert json.loads(cost.stdout)["sessions"] == 1  # the real session, counted
    again = run_cli(["resume", "--last", "next", "--output", "json"], tmp_path, server.base_url, timeout=60)
    assert again.returncode == 0, again.stderr  # the latest real session, not the FIFO or the link
