"""`agent init` and `/init`: a starter AGENTS.md from the repository, shown before it is written."""

from __future__ import annotations

import os
from pathlib import Path

from agent.instructions.starter import propose_or_write
from tests.e2e import run_cli, sample


def test_init_shows_then_writes_only_with_yes_and_never_overwrites_silently(tmp_path: Path) -> None:
    workspace = sample("py_calc", tmp_path)
    shown = run_cli(["init"], workspace)
    assert shown.returncode == 0, shown.stderr
    assert "# AGENTS.md" in shown.stdout and "`python -m pytest -q`" in shown.stdout
    assert "rerun with --yes" in shown.stdout and not (workspace / "AGENTS.md").exists()
    written = run_cli(["init", "--yes"], workspace)
    assert written.returncode == 0 and "wrote" in written.stdout
    text = (workspace / "AGENTS.md").read_text()
    assert "## Build and test" in text and "## Layout" in text and "calc.py" in text
    assert (workspace / "AGENTS.md").stat().st_mode & 0o777 == 0o666 & ~_umask()
    (workspace / "AGENTS.md").write_text("mine\n")
    again = run_cli(["init", "--yes"], workspace)
    assert again.returncode == 2 and "already exists; not overwriting" in again.stderr
    assert (workspace / "AGENTS.md").read_text() == "mine\n"
    forced = run_cli(["init", "--yes", "--force"], workspace)
    assert forced.returncode == 0 and "replaced" in forced.stdout
    assert "## Layout" in (workspace / "AGENTS.md").read_text()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_init_proposal_for_a_node_project(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"scripts": {"test": "vitest", "build": "tsc", "lint": "eslint ."}}')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.ts").write_text("export {}\n")
    shown = propose_or_write(tmp_path, "")
    assert "- test: `npm test`" in shown and "- build: `npm run build`" in shown and "TypeScript" in shown
    assert "/init write" in shown and not (tmp_path / "AGENTS.md").exists()
    assert propose_or_write(tmp_path, "write").startswith("wrote")
    assert "already exists" in propose_or_write(tmp_path, "write")
