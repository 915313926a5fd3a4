"""A checkpoint that cannot be made stops the run before its first change (issue 26): a change `agent undo`
could not take back is never made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.transcript import state_dir
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent, sample

READ = ScriptedCall(name="read_file", arguments={"path": "calc.py"})
EDIT = ScriptedCall(name="edit_file", arguments={"path": "calc.py", "old_string": "return a - b",
                                                 "new_string": "return a + b"})
SHELL = ScriptedCall(name="shell", arguments={"command": "echo changed > made.txt"})


@pytest.mark.parametrize("call", [EDIT, SHELL], ids=["edit", "command"])
def test_a_checkpoint_that_cannot_be_made_stops_the_run_before_the_change(tmp_path: Path, fake_api,
                                                                          call: ScriptedCall) -> None:
    workspace = sample("py_calc", tmp_path)
    before = (workspace / "calc.py").read_text()
    # Duet's own record of the session cannot be written: where its checkpoints go is a file, not a directory.
    checkpoints = state_dir(workspace) / "checkpoints"
    checkpoints.parent.mkdir(parents=True, exist_ok=True)
    checkpoints.write_text("not a directory\n")
    server = fake_api([Turn(tool_calls=[READ, call]), Turn(content="Fixed.")])
    result = run_agent(["run", "--approval", "full-auto", "--output", "json", "fix add"], workspace,
                       server.base_url)
    assert result.returncode == 2, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert out["outcome"] == "config_error" and "cannot record how the files were before" in out["message"]
    assert (workspace / "calc.py").read_text() == before and not (workspace / "made.txt").exists()
    assert len(server.requests) == 1  # nothing more was asked of (or paid to) the model
