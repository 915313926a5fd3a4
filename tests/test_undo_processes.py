"""Undo and edits with real `agent` processes: concurrent sessions and the user working beside them, resumes,
SIGKILL in the middle of a write or a command, and three sessions editing one file at once.

Runs are paused at known points by the fake server holding an answer (`HeldAPI`), and killed at known points
(a command's marker file, the session's record naming the file): no sleeps racing the runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from agent.transcript import all_sessions, state_dir
from fixtures.fakeapi import ScriptedCall, Turn
from fixtures.fakeapi.server import FakeAPI
from tests.conftest import GIT_ENV, TEST_KEY, git
from tests.e2e import agent_bin, base_env, run_agent


class HeldAPI(FakeAPI):
    """The fake server, holding the answer of every request that already holds `hold` answers until `release`
    is set; `wait_held(n)` returns once `n` conversations are held there."""

    def __init__(self, turns: list[Turn] | None = None, *, hold: int,
                 conversations: dict[str, list[Turn]] | None = None) -> None:
        super().__init__(turns or [], conversations=conversations)
        self.hold = hold
        self.release = threading.Event()
        self._held: set[str] = set()
        self._arrived = threading.Condition()

    def next_turn(self, body: dict[str, Any] | None = None) -> Turn | None:
        messages = (body or {}).get("messages") or []
        if sum(1 for m in messages if m.get("role") == "assistant") == self.hold:
            first = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
            with self._arrived:
                self._held.add(first)
                self._arrived.notify_all()
            self.release.wait(120)
        return super().next_turn(body)

    def wait_held(self, count: int, procs: list[subprocess.Popen[str]] = ()) -> None:  # type: ignore[assignment]
        """Returns once `count` conversations are held (fails early when one of `procs` ended before)."""
        deadline = time.monotonic() + 120
        with self._arrived:
            while len(self._held) < count:
                ended = [p for p in procs if p.poll() is not None]
                assert not ended and time.monotonic() < deadline, (self._held, [output(p) for p in ended])
                self._arrived.wait(0.2)


@pytest.fixture
def held_api():  # type: ignore[no-untyped-def]
    servers: list[HeldAPI] = []

    def start(turns: list[Turn] | None = None, **kwargs: Any) -> HeldAPI:
        server = HeldAPI(turns, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.stop()


def spawn(args: list[str], cwd: Path, base_url: str) -> subprocess.Popen[str]:
    """`agent ARGS` started in `cwd`, its output going to files (a pipe nobody reads would fill and block it)."""
    env = dict(base_env(), **GIT_ENV, DEEPSEEK_API_KEY=TEST_KEY, DEEPSEEK_BASE_URL=base_url)
    out = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115  # closed by finish()
    err = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115  # closed by finish()
    proc = subprocess.Popen([agent_bin(), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, text=True, start_new_session=True)
    OUTPUTS[proc.pid] = (out, err)
    return proc


OUTPUTS: dict[int, tuple[IO[str], IO[str]]] = {}


def output(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """What `proc` has written so far (stdout, stderr)."""
    out, err = OUTPUTS[proc.pid]
    out.seek(0)
    err.seek(0)
    return out.read(), err.read()


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.wait(timeout=180)
    out, err = output(proc)
    for handle in OUTPUTS.pop(proc.pid):
        handle.close()
    return proc.returncode, out, err


def first_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while "\n" not in output(proc)[0]:
        assert time.monotonic() < deadline and proc.poll() is None, output(proc)
        time.sleep(0.005)
    return dict(json.loads(output(proc)[0].splitlines()[0]))


def read(path: str) -> ScriptedCall:
    return ScriptedCall(name="read_file", arguments={"path": path})


def edit(path: str, old: str, new: str) -> ScriptedCall:
    return ScriptedCall(name="edit_file", arguments={"path": path, "old_string": old, "new_string": new})


def write(path: str, content: str) -> ScriptedCall:
    return ScriptedCall(name="write_file", arguments={"path": path, "content": content})


def shell(command: str) -> ScriptedCall:
    return ScriptedCall(name="shell", arguments={"command": command})


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the work tree (not .git) and its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "pkg").mkdir()
    for name in ("A", "B", "C", "user"):
        (repo / f"pkg/{name}.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    return repo


def test_undo_of_one_of_three_concurrent_sessions_touches_only_its_own(project: Path, held_api) -> None:
    """28.1 / 24.4: three sessions at once, the user editing and creating files while they run; undo of one
    restores exactly its own changes, keeps the one the user edited after it, and touches nothing else."""
    conversations = {f"task-{k}": [Turn(tool_calls=[read(f"pkg/{k}.py"), edit(f"pkg/{k}.py", "x = 1", "x = 2"),
                                                    write(f"pkg/{k}_new.py", f"{k} = 1\n")]),
                                   Turn(tool_calls=[write(f"pkg/{k}_late.py", f"{k} = 2\n")]),
                                   Turn(content="done")] for k in "ABC"}
    server = held_api(hold=1, conversations=conversations)
    procs = {k: spawn(["run", f"task-{k}", "--approval", "full-auto", "--output", "json"], project,
                      server.base_url) for k in "ABC"}
    server.wait_held(3)  # every session has made its first changes and waits for its model
    (project / "pkg/user.py").write_text("x = 1\nmine = 2\n")  # the user works meanwhile
    (project / "pkg/user_new.py").write_text("mine = 1\n")
    (project / "pkg/A_new.py").write_text("A = 1\n# the user's line\n")  # over a file session A made
    server.release.set()
    ids = {}
    for k, proc in procs.items():
        code, out, err = finish(proc)
        assert code == 0, out + err
        ids[k] = json.loads(out)["session_id"]
    others = {p: b for p, b in tree(project).items() if not p.startswith("pkg/A")}

    result = run_agent(["undo", ids["A"]], project)
    assert result.returncode == 1, result.stdout + result.stderr  # one file kept: not all is back
    assert (project / "pkg/A.py").read_text() == "x = 1\n"
    assert not (project / "pkg/A_late.py").exists()
    assert (project / "pkg/A_new.py").read_text() == "A = 1\n# the user's line\n"
    assert "pkg/A_new.py" in result.stdout.split("left alone")[1]
    assert {p: b for p, b in tree(project).items() if not p.startswith("pkg/A")} == others
    assert (project / "pkg/B_late.py").exists() and (project / "pkg/C.py").read_text() == "x = 2\n"
    assert (project / "pkg/user_new.py").exists() and "mine = 2" in (project / "pkg/user.py").read_text()


def test_user_changes_between_a_sessions_commands_are_not_its_own(project: Path, held_api) -> None:
    """Commands' changes are attributed by snapshots around each command: what the user did between two
    commands of the session stays."""
    turns = [Turn(tool_calls=[shell("echo made > pkg/by_command.txt && echo 'x = 3' > pkg/B.py")]),
             Turn(tool_calls=[shell("rm pkg/C.py")]), Turn(content="done")]
    server = held_api(turns, hold=1)
    proc = spawn(["run", "commands", "--approval", "full-auto", "--output", "json"], project, server.base_url)
    server.wait_held(1)
    (project / "pkg/user_new.py").write_text("mine = 1\n")
    (project / "pkg/A.py").write_text("x = 1\nmine = 2\n")
    server.release.set()
    code, out, err = finish(proc)
    assert code == 0, out + err
    result = run_agent(["undo", json.loads(out)["session_id"]], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (project / "pkg/by_command.txt").exists()
    assert (project / "pkg/B.py").read_text() == "x = 1\n" and (project / "pkg/C.py").read_text() == "x = 1\n"
    assert (project / "pkg/user_new.py").read_text() == "mine = 1\n"
    assert (project / "pkg/A.py").read_text() == "x = 1\nmine = 2\n"


def test_undo_after_resumes_restores_what_came_before_the_first_run(project: Path, fake_api) -> None:
    """28.2: however many resumes, one "before" per session."""
    server = fake_api([Turn(tool_calls=[read("pkg/A.py"), edit("pkg/A.py", "x = 1", "x = 2")]), Turn(content="ok"),
                       Turn(tool_calls=[read("pkg/B.py"), edit("pkg/B.py", "x = 1", "x = 2"),
                                        read("pkg/A.py"), edit("pkg/A.py", "x = 2", "x = 3")]), Turn(content="ok"),
                       Turn(tool_calls=[shell("echo more > pkg/more.txt")]), Turn(content="ok")])
    first = run_agent(["run", "change", "--approval", "full-auto", "--output", "json"], project, server.base_url)
    assert first.returncode == 0, first.stderr
    session = json.loads(first.stdout)["session_id"]
    checkpoint = git(project, "rev-parse", f"refs/duet/checkpoints/{session}")
    for message in ("more", "and more"):
        again = run_agent(["resume", session, message, "--approval", "full-auto"], project, server.base_url)
        assert again.returncode == 0, again.stdout + again.stderr
    assert git(project, "rev-parse", f"refs/duet/checkpoints/{session}") == checkpoint  # never taken again
    assert (project / "pkg/A.py").read_text() == "x = 3\n" and (project / "pkg/more.txt").exists()
    result = run_agent(["undo", session], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "pkg/A.py").read_text() == "x = 1\n" and (project / "pkg/B.py").read_text() == "x = 1\n"
    assert not (project / "pkg/more.txt").exists()
    assert git(project, "status", "--porcelain") == ""


BIG = "".join(f"line {i} of a big file\n" for i in range(200_000))
PATCH = ("*** Begin Patch\n*** Update File: big.txt\n@@\n-line 5 of a big file\n+line five\n"
         "*** Update File: data/f0.txt\n@@\n-f0\n+F0\n*** Delete File: data/f2.txt\n"
         "*** Add File: data/added.txt\n+added\n*** End Patch\n")
KILLED_CALLS = {
    "apply_patch": ([ScriptedCall(name="apply_patch", arguments={"patch": PATCH})], "big.txt"),
    "edit_file": ([read("big.txt"), edit("big.txt", "line 7 of a big file", "line seven")], "big.txt"),
    "write_file": ([read("big.txt"), write("big.txt", "small now\n")], "big.txt"),
    "shell": ([shell("printf 'changed\\n' > data/f0.txt && rm data/f1.txt && echo made > data/made.txt "
                     "&& touch data/started && sleep 60")], "data/started"),
}


def _killed_at(proc: subprocess.Popen[str], workspace: Path, session: str, target: str, original: bytes | None) -> None:
    """SIGKILL the run once the session's record names `target` (a file tool is writing it now, or is about
    to), or `target` changed (a command reached its marker, or an older Duet wrote without a record)."""
    manifest = state_dir(workspace) / "checkpoints" / session / "manifest.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            named = f'"{target}"' in manifest.read_text()
        except OSError:
            named = False
        path = workspace / target
        now = path.read_bytes() if path.is_file() else None
        if named or now != original:
            break
        time.sleep(0.0005)
    os.killpg(proc.pid, signal.SIGKILL)
    finish(proc)


@pytest.mark.parametrize("tool", sorted(KILLED_CALLS))
@pytest.mark.parametrize("round_", range(2))
def test_a_run_killed_during_a_write_then_resumed_is_undone_exactly(repo: Path, held_api, tool: str,
                                                                    round_: int) -> None:
    """24.3 / 28.2 / 28.3: SIGKILL in the middle of a write or a command, resume to the end, undo: the tree is
    back, or undo says exactly what is not, with a non-zero exit."""
    (repo / "big.txt").write_text(BIG)
    (repo / "data").mkdir()
    for i in range(3):
        (repo / f"data/f{i}.txt").write_text(f"f{i}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "data")
    original = tree(repo)
    calls, target = KILLED_CALLS[tool]
    # The answer after the killed call is held: the run cannot go past it before the kill.
    server = held_api([Turn(tool_calls=calls),
                       Turn(tool_calls=[read("data/f0.txt"), write("data/f0.txt", "rewritten\n"),
                                        write("data/new_after_resume.txt", "new\n")]), Turn(content="done")], hold=1)
    proc = spawn(["run", "work", "--approval", "full-auto", "--output", "stream-json"], repo, server.base_url)
    session = first_line(proc)["session_id"]
    _killed_at(proc, repo, session, target, original.get(target))
    server.release.set()
    assert [p.stem for p in all_sessions(repo)] == [session]

    resumed = run_agent(["resume", session, "go on", "--approval", "full-auto"], repo, server.base_url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (repo / "data/new_after_resume.txt").exists()
    result = run_agent(["undo", session], repo)
    now = tree(repo)
    differing = sorted(p for p in {*original, *now} if original.get(p) != now.get(p))
    assert result.returncode == 0 and not differing, (differing, result.stdout, result.stderr)


def test_three_sessions_editing_one_file_at_once_never_lose_an_edit(repo: Path, held_api) -> None:
    """24.4: three `agent run` edit one big file at the same moment, round after round: every edit reported ok
    is in the file; the others were refused as changed since read (and the retry, on a fresh read, lands)."""
    lines = [f"filler {i}\n" for i in range(40_000)]
    for rnd in range(3):
        text = "".join(f"slot-{k}: old\n" for k in "ABC") + "".join(lines)
        (repo / "shared.txt").write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"round {rnd}", "--allow-empty")
        retry = [Turn(tool_calls=[read("shared.txt"), edit("shared.txt", f"slot-{k}: old", f"slot-{k}: new")])
                 for k in "ABC"]
        conversations = {f"edit-{k}-{rnd}": [Turn(tool_calls=[read("shared.txt")]),
                                             Turn(tool_calls=[edit("shared.txt", f"slot-{k}: old", f"slot-{k}: new")]),
                                             retry[i], retry[i], retry[i], Turn(content="done")]
                         for i, k in enumerate("ABC")}
        server = held_api(hold=1, conversations=conversations)
        procs = {k: spawn(["run", f"edit-{k}-{rnd}", "--approval", "full-auto", "--output", "stream-json"], repo,
                          server.base_url) for k in "ABC"}
        server.wait_held(3, list(procs.values()))  # all three have read the file; now they edit it at once
        server.release.set()
        outputs = {}
        for k, proc in procs.items():
            code, out, err = finish(proc)
            assert code == 0, out + err
            outputs[k] = out
        final = (repo / "shared.txt").read_text()
        for k, out in outputs.items():
            edits = [json.loads(line) for line in out.splitlines() if '"edit_file"' in line]
            finished = [e for e in edits if e.get("type") == "tool.finished" or e.get("ok") is not None]
            oks = [e for e in finished if e.get("ok") is True]
            # One edit of the slot can succeed: a second one (a retry finding "old" again) means the first,
            # reported ok, was overwritten by another session.
            assert len(oks) == 1, (k, "an edit reported ok was lost", oks)
            assert f"slot-{k}: new" in final, (k, out[-2000:])
            refused = [e for e in finished if e.get("ok") is False]
            for e in refused:
                text_out = json.dumps(e)
                assert "changed" in text_out or "not found" in text_out, text_out  # refused, never lost


def test_another_sessions_writes_during_a_command_are_not_the_commands(project: Path, tmp_path: Path,
                                                                       fake_api) -> None:
    """28.1: session B writes files while session A's command runs; undo of A leaves B's work alone."""
    go, started = tmp_path / "go", project / "pkg/A_started"  # the marker is the command's own change
    a_api = fake_api([Turn(tool_calls=[shell(f"touch pkg/A_started; while [ ! -e {go} ]; do sleep 0.02; done; "
                                             "echo a > pkg/A_cmd.txt")]), Turn(content="done")])
    a = spawn(["run", "command", "--approval", "full-auto", "--output", "json"], project, a_api.base_url)
    deadline = time.monotonic() + 120
    while not started.exists():  # A's command is running now
        assert time.monotonic() < deadline and a.poll() is None, output(a)
        time.sleep(0.01)
    b_api = fake_api([Turn(tool_calls=[read("pkg/B.py"), edit("pkg/B.py", "x = 1", "x = 2"),
                                       write("pkg/B_new.py", "b = 1\n")]), Turn(content="done")])
    b = run_agent(["run", "files", "--approval", "full-auto"], project, b_api.base_url)
    assert b.returncode == 0, b.stdout + b.stderr
    go.touch()
    code, out, err = finish(a)
    assert code == 0, out + err
    result = run_agent(["undo", json.loads(out)["session_id"]], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (project / "pkg/A_cmd.txt").exists() and not started.exists()
    assert (project / "pkg/B.py").read_text() == "x = 2\n" and (project / "pkg/B_new.py").read_text() == "b = 1\n"
