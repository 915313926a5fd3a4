"""Tools v2 (issue 24): each tool says what a call does (its effect), whether it can work here, and previews the
exact bytes an edit will write; the approval gate, the modal and the event items follow from that, never from a
tool's name. Driven through the real loop, tools and approval flow against the fake model server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from mcp.types import Tool as RemoteTool
from mcp.types import ToolAnnotations
from pydantic import Field

from agent.approval import ApprovalRequest, Decision
from agent.approval_preview import preview
from agent.mcp.manager import McpManager
from agent.mcp.tool import McpTool
from agent.messages import ToolMessage
from fixtures.fakeapi import ScriptedCall, Turn
from tests.helpers import of_type, running_agent
from tools import screenshot
from tools.apply_patch import ApplyPatchArgs, ApplyPatchTool
from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.diffs import unified
from tools.edit_file import EditFileArgs, EditFileTool
from tools.effects import Exec, External, Read, Write
from tools.read_file import ReadFileArgs, ReadFileTool
from tools.registry import ToolBox, default_tools
from tools.shell import ShellArgs, ShellTool

CODE = "def area(w, h):\n    if w < 0:\n        raise ValueError('w')\n    return w * h\n"


class Recorder:
    """An approver that keeps every request and answers as told (optionally doing something first)."""

    def __init__(self, approve: bool = True, meanwhile: Any = None) -> None:
        self.requests: list[ApprovalRequest] = []
        self.approve = approve
        self.meanwhile = meanwhile

    async def __call__(self, request: ApprovalRequest) -> Decision:
        self.requests.append(request)
        if self.meanwhile is not None:
            self.meanwhile()
        return Decision(self.approve, "approved by the test" if self.approve else "no")


def answers(agent: Any) -> list[str]:
    return [m.content for m in agent.session.messages if isinstance(m, ToolMessage)]


def read(path: str) -> ScriptedCall:
    return ScriptedCall(name="read_file", arguments={"path": path})


async def test_the_approved_diff_is_the_written_diff_for_a_whitespace_insensitive_edit(repo: Path, fake_api) -> None:
    (repo / "geo.py").write_text(CODE)
    # Indented with a tab and trailing spaces: only the whitespace-insensitive rung of the ladder finds it.
    edit = ScriptedCall(name="edit_file", arguments={"path": "geo.py", "old_string": "\tif w < 0:  \n\t\traise "
                        "ValueError('w')", "new_string": "\tif w < 0 or h < 0:\n\t\traise ValueError('negative')"})
    server = fake_api([Turn(tool_calls=[read("geo.py")]), Turn(tool_calls=[edit]), Turn(content="done")])
    approver = Recorder()
    async with running_agent(repo, server.base_url, approver=approver, approval="ask") as (agent, events):
        await agent.run("guard h too")
    after = (repo / "geo.py").read_text()
    assert after != CODE and "if w < 0 or h < 0:" in after
    [request] = approver.requests
    shown = preview(request, repo, repo)
    assert shown.kind == "diff"
    assert shown.text == unified("geo.py", CODE, after)  # what the user approved is what was written
    assert [e.diff for e in of_type(events, "file.changed")] == [shown.text]


async def test_an_apply_patch_is_approved_as_the_diff_it_writes_not_the_raw_patch(repo: Path, fake_api) -> None:
    (repo / "geo.py").write_text(CODE)
    patch = ("*** Begin Patch\n*** Update File: geo.py\n@@ def area(w, h):\n-    return w * h  \n"
             "+    return abs(w * h)\n*** Add File: notes.txt\n+area is never negative\n*** End Patch\n")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="apply_patch", arguments={"patch": patch})]),
                       Turn(content="done")])
    approver = Recorder()
    async with running_agent(repo, server.base_url, approver=approver, approval="ask") as (agent, _):
        await agent.run("abs")
    after = (repo / "geo.py").read_text()
    assert "abs(w * h)" in after
    [request] = approver.requests
    shown = preview(request, repo, repo)
    assert shown.kind == "diff" and "*** Begin Patch" not in shown.text
    assert shown.text == unified("geo.py", CODE, after) + unified("notes.txt", None, "area is never negative\n")


async def test_an_edit_that_cannot_apply_is_refused_before_anyone_is_asked(repo: Path, fake_api) -> None:
    (repo / "geo.py").write_text(CODE)
    edit = ScriptedCall(name="edit_file", arguments={"path": "geo.py", "old_string": "return w + h",
                                                     "new_string": "return w * h * 1"})
    server = fake_api([Turn(tool_calls=[read("geo.py"), edit]), Turn(content="done")])
    approver = Recorder()
    async with running_agent(repo, server.base_url, approver=approver, approval="ask") as (agent, events):
        await agent.run("edit")
    assert approver.requests == []
    assert answers(agent)[-1].startswith("error: old_string not found in geo.py")
    done = [e.item for e in of_type(events, "item.completed") if e.item.tool == "edit_file"]
    assert [(i.kind, i.status) for i in done] == [("file_change", "failed")]
    assert (repo / "geo.py").read_text() == CODE


async def test_a_file_changed_while_its_edit_was_being_approved_is_not_written(repo: Path, fake_api) -> None:
    target = repo / "geo.py"
    target.write_text(CODE)
    edit = ScriptedCall(name="edit_file", arguments={"path": "geo.py", "old_string": "return w * h",
                                                     "new_string": "return h * w"})
    meanwhile_text = CODE.replace("raise ValueError('w')", "raise ValueError('W')")

    def someone_edits() -> None:  # same size, same mtime: the read stamp cannot tell
        st = target.stat()
        target.write_text(meanwhile_text)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))

    server = fake_api([Turn(tool_calls=[read("geo.py"), edit]), Turn(content="done")])
    async with running_agent(repo, server.base_url, approver=Recorder(meanwhile=someone_edits),
                             approval="ask") as (agent, _):
        await agent.run("swap")
    assert "geo.py changed since it was previewed" in answers(agent)[-1]
    assert target.read_text() == meanwhile_text  # the unapproved edit was not written


class EchoArgs(ToolArgs):
    text: str = Field(description="What to run.")


class RunTool(Tool):
    """A plugin's tool that runs something: asked like a command whatever it is called."""

    name = "make_target"
    Args = EchoArgs
    mutates = True

    @property
    def description(self) -> str:
        return "Run a make target."

    def effect(self, args: Any, ctx: ToolContext) -> Exec:
        return Exec(("make", args.text), str(ctx.root))

    async def run(self, args: Any, ctx: ToolContext) -> ToolResult:
        return ToolResult(True, f"made {args.text}", data={"exit_code": 0})


class LookingShell(RunTool):
    """Named like the shell, but only looks: never asked."""

    name = "shell"
    mutates = False

    def effect(self, args: Any, ctx: ToolContext) -> Read:
        return Read()


async def test_the_gate_decides_from_the_effect_not_the_name(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="make_target", arguments={"text": "all"}),
                                        ScriptedCall(name="shell", arguments={"text": "x"})]), Turn(content="ok")])
    approver = Recorder()
    async with running_agent(repo, server.base_url, approver=approver, approval="auto-edit") as (agent, events):
        agent.toolbox = ToolBox([RunTool(), LookingShell()])
        await agent.run("build")
    assert [r.tool for r in approver.requests] == ["make_target"]  # an Exec is asked in auto-edit
    assert approver.requests[0].command == "make all"
    items = {e.item.tool: e.item for e in of_type(events, "item.completed")}
    assert items["make_target"].kind == "command_execution" and items["make_target"].exit_code == 0
    assert items["shell"].kind == "tool_call" and items["shell"].status == "completed"


async def test_tool_items_carry_kind_status_and_details(repo: Path, fake_api) -> None:
    (repo / "geo.py").write_text(CODE)
    edit = ScriptedCall(name="edit_file", arguments={"path": "geo.py", "old_string": "return w * h",
                                                     "new_string": "return h * w"}, id="call_edit")
    server = fake_api([Turn(tool_calls=[read("geo.py"), ScriptedCall(name="shell", arguments={
        "command": "echo hi; exit 3"}, id="call_sh"), edit]), Turn(tool_calls=[
            ScriptedCall(name="write_file", arguments={"path": "new.txt", "content": "x\n"}, id="call_w")]),
        Turn(content="done")])
    approvals = iter([True, True, False])

    async def approver(request: ApprovalRequest) -> Decision:
        return Decision(next(approvals), "")

    async with running_agent(repo, server.base_url, approver=approver, approval="ask") as (agent, events):
        await agent.run("work")
    started = {e.item.id: e for e in of_type(events, "item.started")}
    done = {e.item.id: e for e in of_type(events, "item.completed")}
    assert set(started) == set(done) and len(done) == 4
    assert all(started[i].turn == e.turn >= 1 for i, e in done.items())  # the turn the runner was in
    sh = done["call_sh"].item
    assert (sh.kind, sh.status, sh.command, sh.exit_code) == ("command_execution", "failed", "echo hi; exit 3", 3)
    assert started["call_sh"].item.status == "in_progress" and started["call_sh"].item.command == "echo hi; exit 3"
    ed = done["call_edit"].item
    assert (ed.kind, ed.status) == ("file_change", "completed")
    assert [(c.path, c.kind) for c in ed.changes] == [("geo.py", "update")]
    assert (done["call_w"].item.kind, done["call_w"].item.status) == ("file_change", "declined")
    assert not (repo / "new.txt").exists()
    looked = next(e.item for e in done.values() if e.item.tool == "read_file")
    assert (looked.kind, looked.status) == ("tool_call", "completed")


def test_each_tool_declares_its_effect_per_call(tmp_path: Path) -> None:
    ctx = ToolContext(root=tmp_path, start_dir=tmp_path / "sub")
    assert ShellTool().effect(ShellArgs(command="make test"), ctx) == Exec(("bash", "-c", "make test"),
                                                                           str(tmp_path / "sub"))
    assert Exec(("bash", "-c", "make test"), ".").command == "make test"
    assert EditFileTool().effect(EditFileArgs(path="a.py", old_string="x", new_string="y"), ctx) == Write(("a.py",))
    patch = ("*** Begin Patch\n*** Update File: a.py\n*** Move to: b.py\n@@\n-x\n+y\n*** Delete File: c.py\n"
             "*** End Patch")
    assert ApplyPatchTool().effect(ApplyPatchArgs(patch=patch), ctx) == Write(("a.py", "b.py", "c.py"))
    assert ReadFileTool().effect(ReadFileArgs(path="a.py"), ctx) == Read()


def test_mcp_tools_are_external_and_parallel_only_when_marked_read_only(tmp_path: Path) -> None:
    manager = McpManager({}, tmp_path)
    schema = {"type": "object", "properties": {}}
    plain = McpTool(manager, "tickets", RemoteTool(name="close", inputSchema=schema), "mcp__tickets__close", False)
    looking = McpTool(manager, "tickets", RemoteTool(name="get", inputSchema=schema,
                                                     annotations=ToolAnnotations(readOnlyHint=True)),
                      "mcp__tickets__get", False)
    ctx = ToolContext(root=tmp_path)
    assert plain.effect({}, ctx) == External("tickets") == looking.effect({}, ctx)
    assert not plain.parallel_safe and looking.parallel_safe


def test_an_unavailable_tool_is_not_offered_and_a_call_to_it_says_why(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = ToolContext(root=tmp_path)
    monkeypatch.setattr(screenshot, "find_browser", lambda *_workspace: None)
    box = ToolBox(default_tools(), ctx=ctx)
    assert "screenshot" not in [s["function"]["name"] for s in box.schemas]
    assert "shell" in box.tools
    with pytest.raises(ToolError, match="need Chromium"):
        box.parse("screenshot", '{"target": "a.html", "question": "?"}')
    monkeypatch.setattr(screenshot, "find_browser", lambda *_workspace: "/usr/bin/chromium")
    assert "screenshot" in [s["function"]["name"] for s in ToolBox(default_tools(), ctx=ctx).schemas]
