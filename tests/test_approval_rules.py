"""What an "always" answer lets run later (issue 23, item 10): an exact command, or an argv prefix of one simple
command; never a command with control operators, substitutions, redirections, variables or globs by a rule made
for another. Driven through a real Interactive session, its loop and sandboxed shell, against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.approval import ApprovalRequest, Decision, dangerous_reason
from agent.approval_rules import AlwaysRule, offered_rules, simple_argv
from agent.assembly import SessionSpec
from agent.interactive import Interactive
from fixtures.fakeapi import Turn
from tests.approval_helpers import shell, victim_repo
from tests.conftest import KEYS, make_config

ROOT = Path("/work/project")


async def run_session(repo: Path, base_url: str, answer) -> list[ApprovalRequest]:  # type: ignore[no-untyped-def]
    """One message through a real Interactive session; `answer(request)` plays the user. The requests asked."""
    asked: list[ApprovalRequest] = []

    async def ask(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return answer(request)

    config = make_config(repo, base_url, approval="ask", model="deepseek-v4-pro")
    session = Interactive(SessionSpec(repo, config, environ=KEYS), lambda event: None, ask)
    try:
        await session.send("look around")
    finally:
        await session.aclose()
    return asked


@pytest.mark.parametrize("follow_up", [
    "git status && rm -rf calc tests", "git status; rm -rf calc", "git status || rm -rf calc",
    "git status | rm -rf calc", "git status & rm -rf calc", "git status\nrm -rf calc",
    "git status $(rm -rf calc)", "git status `rm -rf calc`", "git status > calc/ops.py",
    "git status <(rm -rf calc)", "git status $HOME", "git status calc/*",
])
async def test_always_for_git_status_never_runs_a_longer_command(repo: Path, fake_api, follow_up: str) -> None:
    victim_repo(repo)
    server = fake_api([Turn(tool_calls=[shell("git status")]), Turn(tool_calls=[shell(follow_up)]),
                       Turn(tool_calls=[shell("git status")]), Turn(content="done")])

    def answer(request: ApprovalRequest) -> Decision:
        if request.command == "git status":  # the exact rule, and the argv-prefix rule too: neither may match
            exact, prefix = offered_rules(request)
            return Decision(True, "yes", always=exact if "&&" in follow_up else prefix)
        return Decision(False, "no")

    asked = await run_session(repo, server.base_url, answer)
    assert [r.command for r in asked] == ["git status", follow_up]  # the third, identical command did not ask
    assert (repo / "calc/ops.py").read_text().startswith("def add") and (repo / "tests/test_ops.py").exists()
    assert server.violations == []


async def test_a_prefix_rule_runs_the_same_program_with_other_arguments_only(repo: Path, fake_api) -> None:
    victim_repo(repo)
    server = fake_api([Turn(tool_calls=[shell("python -m pytest -q")]),
                       Turn(tool_calls=[shell("python -m pytest -q tests/test_ops.py --co")]),
                       Turn(tool_calls=[shell("python -m pytest -q; rm -rf calc")]),
                       Turn(tool_calls=[shell("python -c 'print(1)'")]), Turn(content="done")])

    def answer(request: ApprovalRequest) -> Decision:
        if request.command == "python -m pytest -q":
            rule = offered_rules(request)[1]
            assert rule.label == "always allow `python -m pytest` with any arguments"
            return Decision(True, "yes", always=rule)
        return Decision(False, "no")

    asked = await run_session(repo, server.base_url, answer)
    assert [r.command for r in asked] == ["python -m pytest -q", "python -m pytest -q; rm -rf calc",
                                          "python -c 'print(1)'"]
    assert (repo / "calc/ops.py").exists()


def test_rules_say_what_they_match() -> None:
    request = ApprovalRequest("c", "shell", "git status", "git status")
    assert [r.label for r in offered_rules(request)] == ["always allow exactly `git status`",
                                                         "always allow `git status` with any arguments"]
    compound = ApprovalRequest("c", "shell", "git status && ls", "git status && ls")
    assert [r.label for r in offered_rules(compound)] == ["always allow exactly `git status && ls`"]
    # a program whose arguments are a program is only ever approved exactly
    for command in ("bash run.sh", "python x.py", "env FOO=1 make", "sudo make", "./run.sh", "find . -name x",
                    "git --no-pager log", "git -c core.pager=less log"):
        assert len(offered_rules(ApprovalRequest("c", "shell", command, command))) == 1, command
    edit = ApprovalRequest("c", "edit_file", "edit_file a.py")
    assert [r.label for r in offered_rules(edit)] == ["always allow edit_file"]
    assert not AlwaysRule("shell", command="git status").matches(ApprovalRequest("c", "shell", "x", "git status "))


@pytest.mark.parametrize(("command", "argv"), [
    ("git status", ["git", "status"]), ("  pytest  -q\t-x ", ["pytest", "-q", "-x"]),
    ("pytest -k 'not slow'", ["pytest", "-k", "not slow"]), ('git commit -m "a b"', ["git", "commit", "-m", "a b"]),
    ("git log --format=%H", ["git", "log", "--format=%H"]), ("echo ''", ["echo", ""]),
])
def test_simple_commands_are_read_as_argv(command: str, argv: list[str]) -> None:
    assert simple_argv(command) == argv


@pytest.mark.parametrize("command", [
    "a && b", "a || b", "a; b", "a | b", "a & b", "a\nb", "a $(b)", "a `b`", "a <(b)", "a > f", "a < f", "a 2>&1",
    "a $X", "a ${X}", "a *.py", "a ?", "a [ab]", "a {x,y}", "a ~", "a ~/x", "a !x", "a # c", "a \\; b",
    "X=1 a", "PATH=. git status", "a 'unclosed", 'a "$(b)"', "a '$(b)'", "a \"`b`\"", "a\rb", "a\x1b[8m b",
    "a \u202eb", "a\u200bb", "a\u00a0b", "a\u2028b", "", "   ", "(a)", "{ a; }",
])
def test_anything_the_shell_could_read_otherwise_is_not_simple(command: str) -> None:
    assert simple_argv(command) is None


def test_allow_commands_lifts_a_refusal_only_for_the_whole_simple_command() -> None:
    allowed = [r"git push --force origin wip", r"rm -rf /tmp/cache"]
    assert dangerous_reason("git push --force origin wip", ROOT, allowed) is None
    for command in ("git push --force origin wip; rm -rf ~", "git push --force origin wip && rm -rf /",
                    "rm -rf /tmp/cache $(rm -rf ~)", "rm -rf /tmp/cache ~", "echo x; git push --force origin wip",
                    "git push --force origin wip2"):
        assert dangerous_reason(command, ROOT, allowed) is not None, command
    assert dangerous_reason("git push --force origin wip", ROOT, ["(unclosed"]) is not None  # no crash either
