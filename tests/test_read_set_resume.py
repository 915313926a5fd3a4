"""The files a session read stay read across `agent resume` (two real `agent` processes against the fake
server): an edit of a file read before the restart is allowed, and a file changed on disk since that read is
still refused as stale."""

from __future__ import annotations

from pathlib import Path

from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent, summary


def _read(path: str) -> ScriptedCall:
    return ScriptedCall(name="read_file", arguments={"path": path})


def _edit(path: str, old: str, new: str) -> ScriptedCall:
    return ScriptedCall(name="edit_file", arguments={"path": path, "old_string": old, "new_string": new})


def test_resume_keeps_what_was_read_and_still_refuses_a_stale_file(tmp_path: Path, fake_api) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 1\n")
    server = fake_api([Turn(tool_calls=[_read("a.py"), _read("b.py")]), Turn(content="read both"),
                       Turn(tool_calls=[_edit("a.py", "x = 1", "x = 2"), _edit("b.py", "y = 1", "y = 2")]),
                       Turn(content="edited")])
    first = run_agent(["run", "read them", "--output", "json", "--approval", "full-auto"], tmp_path,
                      server.base_url)
    assert first.returncode == 0, first.stderr
    (tmp_path / "b.py").write_text("y = 1  # changed by the user\n")  # between the two processes

    again = run_agent(["resume", summary(first)["session_id"], "now edit them", "--output", "json",
                       "--approval", "full-auto"], tmp_path, server.base_url)
    assert again.returncode == 0, again.stderr
    results = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"][-2:]
    assert "have not read" not in results[0], results
    assert (tmp_path / "a.py").read_text() == "x = 2\n"  # read before the restart: the edit went through
    assert "changed on disk" in results[1], results
    assert (tmp_path / "b.py").read_text() == "y = 1  # changed by the user\n"  # stale: refused, kept as it was
