"""README.md's "Headless:" examples, run as written (the installed `agent`, a sample repository, the scripted fake
model), in order in one workspace: each exits 0 and does what its comment says. Every line runs; none is skipped:
`echo TEXT | agent run -` gets TEXT on its stdin (the pipe, without a shell), and `agent init` has no terminal
here, so it takes its documented no-terminal path (shows the proposal, writes nothing without --yes). A line
this test cannot run as written (another pipe, a new subcommand with no expectation) fails it, so the README
cannot promise a command nobody runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from agent.transcript import all_sessions
from fixtures import SCRIPTS_DIR
from fixtures.fakeapi import Script, ScriptedCall, Turn
from tests.e2e import run_agent, sample, summary

README = Path(__file__).resolve().parents[1] / "README.md"
PLACEHOLDER_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")  # the README's example session id


def headless_block() -> list[list[str]]:
    """The commands of the ```sh block after "Headless:", each split as a shell would (comments dropped)."""
    text = README.read_text()
    start = text.index("Headless:\n")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block, "README.md: no ```sh block after 'Headless:'"
    return [words for line in block.group(1).splitlines() if (words := shlex.split(line, comments=True))]


def write(path: str, content: str) -> ScriptedCall:
    return ScriptedCall(name="write_file", arguments={"path": path, "content": content})


def test_the_readme_headless_examples_run_as_written(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    fix = Script.load(SCRIPTS_DIR / "fix_py_calc.json").turns
    # What the model answers, line by line, in the README's order (sessions, undo and init call no model).
    turns = [
        Turn(tool_calls=[write("VERBOSE.md", "--verbose: say more\n")]), Turn(content="Added the flag."),  # run
        Turn(content="Nothing is named Foo here."),  # run - (the task from stdin)
        *fix,  # fix-tests
        Turn(content="Changelog updated."),  # resume --last
        # resume ID: the README's line passes no --approval, so the resumed session is in the default `ask`, where a
        # headless edit is refused (exit 1): the model answers in words here.
        Turn(content="The docs need no change."),
    ]
    server = fake_api(turns)
    first_id = ""
    ran: list[str] = []
    for words in headless_block():
        line = shlex.join(words)
        stdin = None
        if words[0] == "echo" and words[2:4] == ["|", "agent"]:  # `echo TEXT | agent ...`: TEXT is the stdin
            stdin, words = words[1] + "\n", words[3:]
        assert words[0] == "agent" and "|" not in words, f"a line this test cannot run as written: {line}"
        args = words[1:]
        if args[0] == "resume" and PLACEHOLDER_ID.match(args[1]):
            args[1] = first_id  # the README's id stands for a real one: the first session here
        result = run_agent(args, workspace, server.base_url, stdin=stdin)
        assert result.returncode == 0, f"README: `{line}` exited {result.returncode}\n{result.stdout}{result.stderr}"
        ran.append(args[0])
        if args[0] == "run" and not first_id:
            first_id = all_sessions(workspace)[-1].stem
            assert (workspace / "VERBOSE.md").exists()  # auto-edit: allowed to edit
        elif args[0] == "fix-tests":
            out = summary(result)
            assert out["outcome"] == "done" and "return a + b" in (workspace / "calc.py").read_text()
        elif args[0] == "sessions":
            assert first_id in result.stdout and len(result.stdout.strip().splitlines()) == 3
        elif args[0] == "undo":  # the last session that changed something: fix-tests (the resumes changed nothing)
            assert "restored calc.py" in result.stdout and "return a - b" in (workspace / "calc.py").read_text()
            assert (workspace / "VERBOSE.md").exists()  # the first session's edit is not the last session's
        elif args[0] == "init":  # no terminal: it shows the proposal and writes nothing without --yes
            assert "rerun with --yes" in result.stdout and not (workspace / "AGENTS.md").exists()
    assert ran == ["run", "run", "fix-tests", "resume", "resume", "sessions", "undo", "init"]
    assert server.violations == [] and len(server.requests) == len(turns)
