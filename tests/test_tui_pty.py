"""End to end in a pseudo-terminal: the installed `agent` opens the TUI, a task runs, an edit is approved,
the file changes on disk, the spend total moves, and `agent resume` brings the session back."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pexpect

from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.conftest import GIT_ENV, TEST_KEY
from tests.e2e import agent_bin, base_env, sample
from tests.helpers import trust_project
from tests.pinned_prices import pin_launch_prices

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][A-Z0-9]|\x1b[=>]")

READ_CALC = ScriptedCall(name="read_file", arguments={"path": "calc.py"})


def spawn(args: list[str], cwd: Path, base_url: str) -> pexpect.spawn:
    env = {k: v for k, v in base_env().items() if k != "CI"}
    env.update(GIT_ENV, DEEPSEEK_API_KEY=TEST_KEY, OPENAI_API_KEY=TEST_KEY, DEEPSEEK_BASE_URL=base_url,
               OPENAI_BASE_URL=base_url, TERM="xterm-256color", COLUMNS="110", LINES="32")
    return pexpect.spawn(agent_bin(), args, cwd=str(cwd), env=env, dimensions=(32, 110), encoding="utf-8",
                         timeout=30)


def screen_until(child: pexpect.spawn, pattern: str, timeout: float = 30) -> str:
    """Read output until `pattern` (a regex) has appeared, escape sequences removed, since the child started."""
    seen: list[str] = child.__dict__.setdefault("duet_seen", [])
    deadline = time.monotonic() + timeout
    while True:
        plain = ANSI.sub("", "".join(seen))
        if re.search(pattern, plain):
            return plain
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {pattern!r}; screen text so far:\n{plain[-2000:]}")
        try:
            seen.append(child.read_nonblocking(65536, timeout=0.2))
        except pexpect.TIMEOUT:
            pass


def type_line(child: pexpect.spawn, text: str) -> None:
    for ch in text:
        child.send(ch)
        time.sleep(0.01)
    child.send("\r")


def test_tui_in_a_real_terminal(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    (workspace / ".duet/config.toml").write_text('approval = "ask"\nmodel = "deepseek-v4-pro"\n')
    pin_launch_prices(workspace)
    trust_project(workspace)  # the user's own project config: no trust question in this run
    usage = ScriptedUsage(prompt_tokens=20_000, cache_hit_tokens=0, completion_tokens=1_000)
    server = fake_api([Turn(tool_calls=[READ_CALC, ScriptedCall(name="edit_file", arguments={
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"})], usage=usage),
        Turn(content="Fixed add().", usage=usage), Turn(content="Still here after resume.")])
    child = spawn([], workspace, server.base_url)
    try:
        screen_until(child, r"Type a task")
        assert "session $0.0000" in screen_until(child, r"session \$0\.0000")
        type_line(child, "fix the add function")
        screen_until(child, r"Allow edit_file\?")
        child.send("y")
        screen_until(child, r"Fixed add\(\)")
        assert "return a + b" in (workspace / "calc.py").read_text()
        # 2 calls × (20,000 × $1.74 + 1,000 × $3.48) per million = $0.0766
        screen_until(child, r"session \$0\.0766")
        child.send("\x03")
        child.send("\x03")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    again = spawn(["resume", "--last"], workspace, server.base_url)
    try:
        screen_until(again, r"fix the add function")
        screen_until(again, r"session \$0\.0766")
        type_line(again, "anything else?")
        screen_until(again, r"Still here after resume")
        type_line(again, "/quit")
        again.expect(pexpect.EOF, timeout=15)
    finally:
        again.close(force=True)
    assert server.violations == []
