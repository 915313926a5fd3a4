"""Duet's own writers of files the user names (`agent cost --html`, `agent context --out`) never write through a
link a command left behind: not in the file's place, not in a directory on the way. Each is refused with one
line and exit 2, before any work, and the file the link points at is untouched. What the page shows from an
untrusted price row cannot hide or reorder text."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e import run_cli
from tests.helpers import trust_project

ATTACKER_SOURCE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIattacker evil@host"
PRICE_ROW = f"""
[[prices]]
model = "deepseek-v4-pro"
since = 2026-09-01
input = 9.0
cached_input = 9.0
output = 9.0
source = "\\u001b[8m{ATTACKER_SOURCE}\\u202e\\u0007"
"""


def refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.strip().count("\n") == 0 and "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / ".duet").mkdir(parents=True)
    (work / "app.py").write_text("def main():\n    return 1\n")
    (work / ".duet/config.toml").write_text(PRICE_ROW)
    return work


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A stand-in for ~/.ssh/authorized_keys."""
    keys = tmp_path / "home-ssh" / "authorized_keys"
    keys.parent.mkdir()
    keys.write_text("ssh-ed25519 AAAAgood user@laptop\n")
    return keys


def test_cost_html_refuses_a_link_in_the_files_place(project: Path, victim: Path) -> None:
    (project / "cost.html").symlink_to(victim)
    line = refused(run_cli(["cost", "--html", "cost.html"], project))
    assert "symbolic link" in line
    assert victim.read_text() == "ssh-ed25519 AAAAgood user@laptop\n"
    assert (project / "cost.html").is_symlink()


def test_cost_html_and_context_out_refuse_a_linked_directory(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "dist").symlink_to(elsewhere)
    for args in (["cost", "--html", "dist/cost.html"], ["context", "--whole", "--out", "dist/pack.xml"],
                 ["context", "--out", "dist/pack.xml"]):
        line = refused(run_cli(args, project))
        assert "dist" in line and "symbolic link" in line, line
    nested = project / "real" / "sub"
    nested.mkdir(parents=True)
    (project / "real" / "up").symlink_to(elsewhere)  # a link deeper on the way, given as an absolute path
    refused(run_cli(["context", "--whole", "--out", str(project / "real" / "up" / "pack.xml")], project))
    assert list(elsewhere.iterdir()) == []


def test_the_writes_still_work_and_the_page_shows_no_control_characters(project: Path) -> None:
    trust_project(project)  # the price row applies (an untrusted row may only raise prices anyway)
    (project / "out").mkdir()
    done = run_cli(["cost", "--html", "out/cost.html"], project)
    assert done.returncode == 0, done.stderr
    page = (project / "out" / "cost.html").read_text()
    assert ATTACKER_SOURCE in page  # shown, as text
    assert "\x1b" not in page and "\u202e" not in page and "\x07" not in page
    assert "\\x1b[8m" in page and "\\u202e" in page
    done = run_cli(["context", "--whole", "--out", "out/pack.xml"], project)
    assert done.returncode == 0, done.stderr
    assert '<file path="app.py">' in (project / "out" / "pack.xml").read_text()
