"""In a real terminal (the installed `agent` in a pseudo-terminal): the "always" button says it allows exactly
`git status`, and after it `git status && rm -rf tests` hidden behind `ESC[8m` is asked about again, shown with
the escape made visible, while the terminal itself never receives the payload's escape sequence."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect

from fixtures.fakeapi import ScriptedCall, Turn
from tests.approval_helpers import shell
from tests.conftest import GIT_ENV, TEST_KEY
from tests.e2e import agent_bin, base_env, sample
from tests.helpers import trust_project
from tests.pinned_prices import pin_launch_prices
from tests.test_tui_pty import screen_until, spawn, type_line

PAYLOAD = "git status \x1b[8m&& rm -rf tests\x1b[0m"


def test_always_exactly_and_a_hidden_payload_in_a_real_terminal(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    (workspace / ".duet/config.toml").write_text('approval = "ask"\nmodel = "deepseek-v4-pro"\n')
    pin_launch_prices(workspace)
    trust_project(workspace)
    server = fake_api([Turn(tool_calls=[shell("git status")]), Turn(tool_calls=[shell(PAYLOAD)]),
                       Turn(content="All checked.")])
    child = spawn([], workspace, server.base_url)
    try:
        screen_until(child, r"Type a task")
        type_line(child, "check the repo")
        screen_until(child, r"Always allow exactly `git status` \(a\)")
        child.send("a")
        screen_until(child, r"hidden or control")
        screen_until(child, r"Always allow exactly the command above \(a\)")
        assert r"$ git status \x1b[8m&& rm -rf tests\x1b[0m" in screen_until(child, r"rm -rf tests")
        child.send("\x1b[Z")  # Shift+Tab: refused while the question is open
        screen_until(child, r"approval mode stays ask")
        child.send("n")
        screen_until(child, r"All checked\.")
        raw = "".join(child.__dict__["duet_seen"])
        assert "\x1b[8m&&" not in raw and "\x1b[8m" not in raw  # the payload's own sequence never reached it
        child.send("\x03")
        child.send("\x03")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert (workspace / "tests/test_calc.py").exists()
    assert server.violations == []


def test_at_80x24_the_answers_show_and_a_typed_note_reaches_the_model(tmp_path: Path, fake_api) -> None:
    """Issue 26, in a real 80×24 terminal: with a 200-line diff the answers are drawn (off-screen widgets are
    never drawn); Tab, Tab reaches the note, "no sleeping" typed there is text, and `n` from outside it denies
    with the note, which the model reads."""
    workspace = sample("py_calc", tmp_path)
    (workspace / ".duet/config.toml").write_text('approval = "ask"\nmodel = "deepseek-v4-pro"\n')
    pin_launch_prices(workspace)
    trust_project(workspace)
    long = ScriptedCall(name="write_file", arguments={"path": "big.txt",
                                                      "content": "".join(f"row {i}\n" for i in range(200))})
    server = fake_api([Turn(tool_calls=[long]), Turn(tool_calls=[shell("sleep 30")]), Turn(content="Understood.")])
    env = {k: v for k, v in base_env().items() if k != "CI"}
    env.update(GIT_ENV, DEEPSEEK_API_KEY=TEST_KEY, OPENAI_API_KEY=TEST_KEY, DEEPSEEK_BASE_URL=server.base_url,
               OPENAI_BASE_URL=server.base_url, TERM="xterm-256color", COLUMNS="80", LINES="24")
    child = pexpect.spawn(agent_bin(), [], cwd=str(workspace), env=env, dimensions=(24, 80), encoding="utf-8",
                          timeout=30)
    try:
        screen_until(child, r"Type a task")
        type_line(child, "write it")
        screen_until(child, r"more below")
        screen_until(child, r"Approve once \(y\)")
        screen_until(child, r"Deny \(n\)")
        screen_until(child, r"Always allow write_file \(a\)")
        child.send("y")
        screen_until(child, r"\$ sleep 30")
        for key in ("\t", "\t", *"no sleeping", "\t"):
            child.send(key)
            time.sleep(0.05)
        screen_until(child, r"no sleeping")
        child.send("n")
        screen_until(child, r"Understood\.")
        child.send("\x03")
        child.send("\x03")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert (workspace / "big.txt").exists()
    tools = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert tools[-1] == "denied by the user: no sleeping"
    users = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "user"]
    assert not any("sleeping" in str(u) for u in users)  # nothing typed went to the conversation
    assert server.violations == []
