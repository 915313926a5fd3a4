"""A suite names only what it ships: task repositories and images resolve inside the suite's directory (no `..`,
no absolute path, no symlink out, never HOME), the copy leaves out what a session hides, and `agent eval` says so
in one line (exit 2). Real `agent eval` processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fixtures.fakeapi import Turn
from tests.e2e import agent_bin
from tests.helpers import tiny_png
from tests.test_eval import rows_of
from tests.test_eval_safety import run_suite


def eval_once(suite: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([agent_bin(), "eval", str(suite), "--model", "deepseek-v4-flash", "--out", str(out)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def up(suite: Path, home: Path) -> str:
    """HOME, written relative to the suite's directory (`../../home0`)."""
    return os.path.relpath(home, suite)


@pytest.mark.parametrize("field, make", [
    ("repo", up),
    ("repo", lambda suite, home: str(home)),
    ("repo", lambda suite, home: f"repo/../{up(suite, home)}"),
    ("repo", lambda suite, home: "repo\\u0000x"),
    ("repo", lambda suite, home: (suite / "link").symlink_to(home) or "link"),
    ("repo", lambda suite, home: (suite / "deep").mkdir() or (suite / "deep/l").symlink_to(up(suite / "deep", home))
     or "deep/l"),
    ("images", lambda suite, home: f"{up(suite, home)}/shot.png"),
    ("images", lambda suite, home: str(home / "shot.png")),
    ("images", lambda suite, home: (suite / "img").symlink_to(home / "shot.png") or "img"),
])
def test_a_task_path_outside_the_suite_is_one_line_exit_2(tmp_path: Path, field: str, make) -> None:
    home = Path(os.environ["HOME"])  # what the attack wants: the user's credential stores, as plain files
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh/id_rsa").write_text("CANARY-ssh-key\n")
    tiny_png(home / "shot.png")
    suite = tmp_path / "suite"
    (suite / "repo").mkdir(parents=True)
    value = make(suite, home)
    task = '[[task]]\nid = "t"\nkind = "run"\nprompt = "hi"\ncheck = "true"\n'
    task += f'repo = "{value}"\n' if field == "repo" else f'repo = "repo"\nimages = ["{value}"]\n'
    (suite / "suite.toml").write_text(task)
    done = eval_once(suite / "suite.toml", tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert f"task 't': {field[:-1] if field == 'images' else field}" in done.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_a_suite_in_home_cannot_copy_home(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    (home / "suite.toml").write_text('[[task]]\nid = "t"\nrepo = "."\nkind = "run"\nprompt = "hi"\ncheck = "true"\n')
    done = eval_once(home / "suite.toml", tmp_path / "out")
    assert done.returncode == 2 and "is your home directory" in done.stderr, done.stderr


def test_the_copy_leaves_out_what_a_session_hides(tmp_path: Path) -> None:
    # A suite in HOME whose task is a directory holding credential stores (~/.config: gh, duet): the copy, where
    # commands could read them as plain files, gets none of them.
    home = Path(os.environ["HOME"])
    (home / ".config/gh").mkdir(parents=True, exist_ok=True)
    (home / ".config/gh/hosts.yml").write_text("oauth_token: CANARY-gh\n")
    (home / ".config/tool").mkdir(exist_ok=True)
    (home / ".config/tool/settings").write_text("plain\n")
    (home / "suite.toml").write_text('[[task]]\nid = "t"\nrepo = ".config"\nkind = "run"\nprompt = "hi"\n'
                                     'check = "cat tool/settings; cat gh/hosts.yml; test ! -e gh"\n')
    done, _ = run_suite(home / "suite.toml", tmp_path / "out", [Turn(content="done")])
    assert done.returncode == 0, done.stderr
    [row] = rows_of(tmp_path / "out")
    assert row["passed"], row["check_output"]
    assert "plain" in row["check_output"] and "CANARY" not in row["check_output"]
    [log] = (tmp_path / "out" / "runs").glob("*.log")
    assert "gh: hidden from commands" in log.read_text()


def test_the_copys_own_repository_holds_no_secret_file(tmp_path: Path) -> None:
    # The copy is committed for its checkpoints; the run's commands can read its .git, so no secret file goes in.
    suite = tmp_path / "suite"
    (suite / "repo").mkdir(parents=True)
    (suite / "repo/app.py").write_text("x = 1\n")
    (suite / "repo/.env").write_text("TOKEN=CANARY-eval-copy\n")
    (suite / "suite.toml").write_text(
        '[[task]]\nid = "t"\nrepo = "repo"\nkind = "run"\nprompt = "hi"\n'
        'check = "git ls-files; git cat-file --batch-all-objects --batch | grep -c CANARY-eval; test -f .env"\n')
    done, _ = run_suite(suite / "suite.toml", tmp_path / "out", [Turn(content="done")])
    assert done.returncode == 0, done.stderr
    [row] = rows_of(tmp_path / "out")
    assert "app.py" in row["check_output"] and ".env" not in row["check_output"].split("\n")[0]
    assert row["check_output"].split()[1] == "0" and row["passed"], row["check_output"]
