"""Protected paths (.git/, .duet/) for the file tools, and what screenshot may open; in every mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.fakeapi import ScriptedCall, Turn
from tests.helpers import make_agent, of_type
from tools.base import ToolContext, ToolError
from tools.screenshot import checked_url

ATTEMPTS = [
    ScriptedCall(name="edit_file", arguments={"path": ".git/config", "old_string": "[core]",
                                              "new_string": "[core]\n\tfsmonitor = touch /tmp/pwned"}),
    ScriptedCall(name="write_file", arguments={"path": ".duet/config.toml", "content": "approval = 'full-auto'\n"}),
    ScriptedCall(name="write_file", arguments={"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\n"}),
    ScriptedCall(name="apply_patch", arguments={"patch": "*** Begin Patch\n*** Delete File: .git/HEAD\n"
                                                         "*** End Patch\n"}),
    ScriptedCall(name="apply_patch", arguments={"patch": "*** Begin Patch\n*** Update File: README.md\n"
                                                         "*** Move to: .duet/README.md\n@@\n-hello\n+moved\n"
                                                         "*** End Patch\n"}),
    ScriptedCall(name="write_file", arguments={"path": "link/config", "content": "x"}),
]


@pytest.mark.parametrize("approval", ["auto-edit", "full-auto"])
async def test_file_tools_cannot_change_git_or_duet_state(repo: Path, fake_api, approval: str) -> None:
    (repo / ".duet").mkdir(exist_ok=True)
    (repo / ".duet/config.toml").write_text("[retry]\nmax_retries = 1\n")
    (repo / "link").symlink_to(repo / ".git")  # a link into .git is the same as .git
    config_before = (repo / ".git/config").read_text()
    server = fake_api([Turn(tool_calls=[call]) for call in ATTEMPTS] + [Turn(content="done")])
    agent, pool, events = make_agent(repo, server.base_url, approval=approval)
    await agent.run("try")
    await pool.aclose()
    results = of_type(events, "tool.finished")
    assert len(results) == len(ATTEMPTS) and not any(r.ok for r in results)
    assert all("protected" in r.output for r in results)
    assert (repo / ".git/config").read_text() == config_before and (repo / ".git/HEAD").exists()
    assert (repo / ".duet/config.toml").read_text() == "[retry]\nmax_retries = 1\n"
    assert not (repo / ".git/hooks/pre-commit").exists() and (repo / "README.md").read_text() == "hello\n"


def test_screenshot_opens_files_only_inside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "page.html").write_text("<p>hi</p>")
    ctx = ToolContext(root=root)
    for target in ("file:///etc/shadow", "file:///etc/passwd", f"file://{tmp_path}/x.html", "../x.html",
                   "/etc/hostname", "data:text/html,<p>x</p>", "chrome://settings", "javascript:alert(1)"):
        with pytest.raises(ToolError):
            checked_url(ctx, target, network=True)
    assert checked_url(ctx, "page.html", network=False)[0] == (root / "page.html").as_uri()
    assert checked_url(ctx, (root / "page.html").as_uri(), network=False)[0] == (root / "page.html").as_uri()


def test_screenshot_reaches_only_loopback_unless_the_network_is_on(tmp_path: Path) -> None:
    ctx = ToolContext(root=tmp_path)
    assert checked_url(ctx, "http://localhost:8000/", network=False) == ("http://localhost:8000/", (8000,))
    assert checked_url(ctx, "http://127.0.0.1/x", network=False)[1] == (80,)
    assert checked_url(ctx, "http://[::1]:5173/", network=False)[1] == (5173,)
    for target in ("https://example.com/", "http://10.0.0.1:8000/", "http://localhost.evil.com/"):
        with pytest.raises(ToolError, match="network is off"):
            checked_url(ctx, target, network=False)
    assert checked_url(ctx, "https://example.com/", network=True)[1] == (443,)
