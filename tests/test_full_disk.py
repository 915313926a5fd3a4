"""A full disk under Duet's state directory: the run says so in one line and still ends with its result.

The state directory (transcripts, and outside git the checkpoint copies) sits on a real 64 KB tmpfs, which
needs root to mount; elsewhere these tests are skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_cli, summary


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "state"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path) -> None:
    with contextlib.suppress(OSError), open(mount / "filler", "wb") as out:
        while True:
            out.write(b"\0" * 4096)
            out.flush()


def workspace(tmp_path: Path) -> Path:
    """Not a git repository, so the transcript goes to the state directory."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "big.txt").write_text("".join(f"{i:06} " + "x" * 90 + "\n" for i in range(2000)))
    return work


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("agent:") and "warning" not in line]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_disk_full_before_the_run_starts_ends_with_a_result(tmp_path: Path, small_disk: Path, fake_api) -> None:
    fill(small_disk)
    server = fake_api([Turn(content="hello")])
    result = run_cli(["run", "say hi", "--output", "json"], workspace(tmp_path), server.base_url,
                       env_extra={"XDG_STATE_HOME": str(small_disk)})
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = one_line_error(result)
    assert "No space left on device" in line
    done = summary(result)
    assert done["exit_code"] == 2 and "No space left on device" in done["message"]


def test_a_disk_that_fills_during_the_run_stops_it_with_its_result(tmp_path: Path, small_disk: Path,
                                                                    fake_api) -> None:
    reads = [Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "big.txt", "offset": 1 + 300 * i,
                                                                         "limit": 300})])
             for i in range(6)]
    server = fake_api([*reads, Turn(content="read it all")])
    work = workspace(tmp_path)
    result = run_cli(["run", "read big.txt", "--output", "json", "--approval", "read-only"], work,
                       server.base_url, env_extra={"XDG_STATE_HOME": str(small_disk)})
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = one_line_error(result)
    assert "No space left on device" in line and "transcript" in line
    done = summary(result)
    assert done["exit_code"] == 2 and "No space left on device" in done["message"]
    assert done["num_turns"] >= 1 and done["usage"]["input_tokens"] > 0  # what was spent is still reported
    assert (work / "big.txt").stat().st_size > 0  # the workspace is as it was
