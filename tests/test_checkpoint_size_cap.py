"""Untracked files over the size cap stay out of checkpoints (issue 28 item 12): a 2 GB sparse file is not hashed
into the object store on every snapshot; the run says undo cannot restore it, and undo restores the rest."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agent.undo.gitsnap import MAX_UNTRACKED_FILE_BYTES
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import git
from tests.e2e import run_agent, sample

READ = ScriptedCall(name="read_file", arguments={"path": "calc.py"})
EDIT = ScriptedCall(name="edit_file", arguments={"path": "calc.py", "old_string": "return a - b",
                                                 "new_string": "return a + b"})
SHELL = ScriptedCall(name="shell", arguments={"command": "echo made > made.txt"})


def test_a_huge_untracked_file_stays_out_of_the_checkpoint_and_the_rest_is_undone(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    before = (workspace / "calc.py").read_text()
    with open(workspace / "big.bin", "wb") as big:  # sparse: 2 GB on paper, nothing on disk
        big.truncate(2 * 1024**3)
    (workspace / "small.txt").write_text("kept in the checkpoint\n")
    server = fake_api([Turn(tool_calls=[READ, EDIT, SHELL]), Turn(content="Done.")])
    result = run_agent(["run", "--approval", "full-auto", "--output", "stream-json", "fix add"], workspace,
                       server.base_url)
    assert result.returncode == 0, result.stderr
    notices = [json.loads(line)["message"] for line in result.stdout.splitlines()
               if json.loads(line).get("type") == "notice"]
    said = [n for n in notices if "left out of the checkpoint" in n]
    assert len(said) == 1 and "big.bin" in said[0] and f"{MAX_UNTRACKED_FILE_BYTES >> 20} MB" in said[0]
    session = json.loads(result.stdout.splitlines()[-1])["session_id"]
    tree = git(workspace, "ls-tree", "-r", "--name-only", f"refs/duet/checkpoints/{session}").split()
    assert "small.txt" in tree and "calc.py" in tree and "big.bin" not in tree
    undone = run_agent(["undo", session], workspace)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert (workspace / "calc.py").read_text() == before and not (workspace / "made.txt").exists()
    assert os.path.getsize(workspace / "big.bin") == 2 * 1024**3  # never touched
