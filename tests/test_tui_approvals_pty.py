"""In a real terminal (the installed `agent` in a pseudo-terminal): the "always" button says it allows exactly
`git status`, and after it `git status && rm -rf tests` hidden behind `ESC[8m` is asked about again, shown with
the escape made visible, while the terminal itself never receives the payload's escape sequence."""

from __future__ import annotations

from pathlib import Path

import pexpect

from fixtures.fakeapi import Turn
from tests.approval_helpers import shell
from tests.e2e import sample
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
