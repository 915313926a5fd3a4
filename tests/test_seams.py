"""Nothing a repository, a command or a surviving process plants runs in Duet's own, unsandboxed process.

Each test is the attack as it was reproduced, against the real `agent` command: a payload that would leave a
marker file where only an unsandboxed process can write (HOME, read-only to sandboxed commands)."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
from pathlib import Path

import pytest

from agent.context.sealed import CacheFiles, SealedFile
from agent.repo.known import KnownRepos
from agent.transcript import all_sessions
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import git
from tests.e2e import FAST_RETRIES, run_cli, summary
from tools.base import ToolContext, ToolError
from tools.binaries import clean_path, find_binary
from tools.write_file import WriteFileTool


class Payload:
    """Unpickling this runs a shell command (what a committed tags.pickle did on the old main)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


def small_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    (root / "app").mkdir()
    (root / "app/models.py").write_text("class Invoice:\n    def total(self) -> int:\n        return 1\n")
    (root / "app/views.py").write_text("from app.models import Invoice\n\n\ndef show():\n"
                                       "    return Invoice().total()\n")
    return root


def shell(command: str) -> Turn:
    return Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": command})])


def write(path: str, content: str) -> Turn:
    return Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": path, "content": content})])


def test_a_committed_cache_in_dot_duet_is_never_deserialised(tmp_path: Path, fake_api, isolated_home: Path) -> None:
    marker = isolated_home / "pwned-by-pickle"
    work = small_project(tmp_path / "cloned")
    (work / ".duet/cache").mkdir(parents=True)
    for name in ("tags.pickle", "tags.delta", "index.json", "index.snap"):
        (work / ".duet/cache" / name).write_bytes(pickle.dumps((7, "t", [], {}, {}, Payload(marker))))
    # the untrusted project forces the repo map for every model, so the tags cache is loaded
    (work / ".duet/config.toml").write_text(FAST_RETRIES + "[context]\npack_min_window = 2000000\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "a repository with a planted cache")
    server = fake_api([Turn(content="hello")])
    result = run_cli(["run", "hi", "--approval", "read-only", "--output", "json"], work, server.base_url)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "a pickle from the work tree ran in Duet's process"
    warnings = [line for line in (result.stderr + result.stdout).splitlines() if "ignoring .duet/cache" in line]
    assert len(warnings) == 1, result.stderr
    assert "<repository map" in str(server.requests[0]) or "models.py" in str(server.requests[0])


def test_sealed_cache_files_are_read_only_when_our_key_vouches_for_them(tmp_path: Path) -> None:
    key = b"k" * 32
    sealed = SealedFile(tmp_path / "ws-1" / "tags.bin", key)
    sealed.save((7, "token", ["name"]))
    assert sealed.load() == (7, "token", ["name"])
    assert stat.S_IMODE(sealed.path.stat().st_mode) == 0o600
    data = sealed.path.read_bytes()
    sealed.path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit of the payload changed
    assert sealed.load() is None
    sealed.save((1,))
    assert SealedFile(sealed.path, b"x" * 32).load() is None  # another user's key
    moved = tmp_path / "ws-2" / "tags.bin"
    moved.parent.mkdir()
    moved.write_bytes(sealed.path.read_bytes())
    assert SealedFile(moved, key).load() is None  # sealed for another workspace's directory
    sealed.path.write_bytes(pickle.dumps(Payload(tmp_path / "marker")))
    assert sealed.load() is None and not (tmp_path / "marker").exists()


def test_caches_live_outside_the_work_tree_under_a_private_key(tmp_path: Path, isolated_home: Path) -> None:
    work = small_project(tmp_path / "w")
    files = CacheFiles.for_workspace(work)
    assert files is not None
    assert work not in files.tags.path.parents and isolated_home in files.tags.path.parents
    key = isolated_home / ".config/duet/cache.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32


def test_sessions_a_repository_commits_in_dot_duet_are_not_listed(tmp_path: Path) -> None:
    work = small_project(tmp_path / "w")
    (work / ".duet/sessions").mkdir(parents=True)
    (work / ".duet/sessions/20260101-000000-abcdef.jsonl").write_text('{"type": "session.started"}\n')
    assert all_sessions(work) == []


def test_a_git_planted_in_the_workspace_venv_is_never_run(tmp_path: Path, fake_api, isolated_home: Path) -> None:
    marker = isolated_home / "pwned-by-git"
    work = small_project(tmp_path / "w")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "init")
    planted = work / ".venv/bin"
    planted.mkdir(parents=True)
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True).stdout.strip()
    (planted / "git").write_text(f"#!/bin/sh\ntouch {marker}\nexec {real_git} \"$@\"\n")
    (planted / "git").chmod(0o755)
    server = fake_api([write("app/new.py", "x = 1\n"), Turn(content="done")])
    path = f"{planted}{os.pathsep}{os.environ['PATH']}"  # the project's venv activated
    result = run_cli(["run", "edit", "--approval", "full-auto", "--output", "json"], work, server.base_url,
                       env_extra={"PATH": path, "VIRTUAL_ENV": str(work / ".venv")})
    assert result.returncode == 0, result.stderr
    assert summary(result)["files_changed"]  # the end-of-run checkpoint ran git
    assert not marker.exists(), "Duet ran the workspace's git"


def test_helper_binaries_are_never_found_in_the_workspace_or_temp_dirs(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "w"
    (work / "bin").mkdir(parents=True)
    shm = Path("/dev/shm") / f"duet-test-{os.getpid()}"
    shm.mkdir(exist_ok=True)
    try:
        for place in (work / "bin", shm):
            (place / "git").write_text("#!/bin/sh\nexit 0\n")
            (place / "git").chmod(0o755)
        monkeypatch.setenv("PATH", f"{work / 'bin'}{os.pathsep}{shm}{os.pathsep}relative{os.pathsep}"
                                   f"{os.environ['PATH']}")
        found = find_binary("git", work)
        assert found is not None and Path(found).is_absolute()
        assert work not in Path(found).parents and shm not in Path(found).parents
        entries = clean_path(work).split(os.pathsep)
        assert str(work / "bin") not in entries and str(shm) not in entries and "relative" not in entries
    finally:
        for entry in shm.iterdir():
            entry.unlink()
        shm.rmdir()


# A command turns a plain directory (or a subdirectory) into a repository whose config runs a program on
# Duet's next `git status` or `git add`: a clean filter, for a tracked file rewritten with the same size (git must
# hash it to know whether it changed).
def plant_repository(marker: Path) -> str:
    return (f"git init -q . && echo one > f.txt && git add f.txt && git config filter.x.clean 'touch {marker}; cat' "
            "&& echo '* filter=x' > .gitattributes && sleep 1 && echo one > f.txt && echo planted")


def test_a_repository_a_command_made_is_not_used_by_duets_git(tmp_path: Path, fake_api, isolated_home: Path) -> None:
    marker = isolated_home / "pwned-by-filter"
    work = tmp_path / "plain"
    work.mkdir()
    (work / "notes.txt").write_text("notes\n")
    server = fake_api([shell(plant_repository(marker)), shell("echo more >> notes.txt"), Turn(content="done")])
    first = run_cli(["run", "go", "--approval", "full-auto", "--output", "json"], work, server.base_url)
    assert first.returncode == 0, first.stderr
    assert (work / ".git/config").is_file() and "planted" in str(server.requests[1])
    assert not marker.exists(), "Duet ran git in the repository its command made (same session)"
    later = fake_api([write("new.txt", "again\n"), Turn(content="done")])
    second = run_cli(["run", "go", "--approval", "full-auto", "--output", "json"], work, later.base_url)
    assert second.returncode == 0, second.stderr
    assert not marker.exists(), "Duet ran git in the repository a command made (next session)"
    said = [line for line in (second.stderr + second.stdout).splitlines() if "agent trust" in line]
    assert said and ".git appeared" in said[0]
    assert summary(second)["files_changed"]  # the session still worked, and kept its sessions outside .git
    assert not (work / ".git/duet").exists()


def test_a_nested_repository_a_command_made_does_not_become_the_workspace(tmp_path: Path, fake_api,
                                                                          isolated_home: Path) -> None:
    marker = isolated_home / "pwned-by-nested"
    work = small_project(tmp_path / "mono")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "init")
    (work / "pkg").mkdir()
    server = fake_api([shell(f"cd pkg && {plant_repository(marker)}"), Turn(content="done")])
    first = run_cli(["run", "go", "--approval", "full-auto", "--output", "json"], work, server.base_url)
    assert first.returncode == 0, first.stderr
    assert (work / "pkg/.git/config").is_file()
    later = fake_api([Turn(content="hello")])
    second = run_cli(["run", "hi", "--approval", "read-only", "--output", "json"], work / "pkg", later.base_url)
    assert second.returncode == 0, second.stderr
    session = summary(second)["session_id"]
    assert session in {p.stem for p in all_sessions(work)}  # the workspace is the repository the user had
    assert not marker.exists(), "Duet ran git in a nested repository a command made"
    assert not KnownRepos().trusted(work / "pkg/.git")
    trusted = run_cli(["trust", "-C", str(work / "pkg")], work)
    assert trusted.returncode == 0 and "trusted the git repository" in trusted.stdout
    assert KnownRepos().trusted(work / "pkg/.git")


def test_a_fresh_clone_and_the_repositories_it_holds_are_trusted(tmp_path: Path) -> None:
    work = small_project(tmp_path / "clone")
    small_project(work / "vendor/lib")  # a nested repository that was there before Duet ran anything
    known = KnownRepos()
    assert known.watch(work, lambda: [work / "vendor/lib/.git"]) == []
    assert known.trusted(work / ".git") and known.trusted(work / "vendor/lib/.git")
    small_project(work / "later")
    assert not known.trusted(work / "later/.git")


@pytest.mark.parametrize("path", ["lib/.duet/cache/tags.pickle", "a/b/.duet/config.toml", "x/.DUET/sessions/s.jsonl"])
async def test_file_tools_refuse_dot_duet_at_any_depth(tmp_path: Path, path: str) -> None:
    tool = WriteFileTool()
    with pytest.raises(ToolError, match="protected"):
        await tool.run(tool.Args(path=path, content="x"), ToolContext(root=tmp_path))
    assert not any(tmp_path.rglob("*.pickle")) and not (tmp_path / "a").exists()


def test_a_read_only_state_dir_keeps_git_workspaces_working_and_says_what_it_cannot_promise(
        tmp_path: Path, fake_api) -> None:
    work = small_project(tmp_path / "w")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "init")
    server = fake_api([Turn(content="hello")])
    result = run_cli(["run", "hi", "--output", "json"], work, server.base_url,
                       env_extra={"XDG_STATE_HOME": "/proc/duet-cannot-write-here"})
    assert result.returncode == 0, result.stderr
    assert "will not be known as untrusted" in result.stderr


def test_duets_state_and_caches_are_hidden_from_commands_wherever_xdg_puts_them(tmp_path: Path, fake_api) -> None:
    state, cache = tmp_path / "xdg-state", tmp_path / "xdg-cache"
    work = small_project(tmp_path / "w")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "init")
    forge = f"open('{state}/duet/repos.json', 'w').write('forged')\n"
    probe = (f"cat {state}/duet/repos.json; ls {cache}/duet/workspaces; ls {state}/duet; "
             "python3 forge.py; echo probed")
    server = fake_api([write("forge.py", forge), shell(probe), Turn(content="done")])
    result = run_cli(["run", "probe", "--approval", "full-auto", "--output", "json"], work, server.base_url,
                       env_extra={"XDG_STATE_HOME": str(state), "XDG_CACHE_HOME": str(cache)})
    assert result.returncode == 0, result.stderr
    output = str(server.requests[2]["messages"][-1]["content"])
    assert "probed" in output and "watched" not in output and "known" not in output
    assert "forged" not in (state / "duet/repos.json").read_text()
    assert (cache / "duet/workspaces").is_dir()


def test_a_damaged_record_of_repositories_fails_closed_and_is_not_overwritten(tmp_path: Path, fake_api,
                                                                              isolated_home: Path) -> None:
    registry = isolated_home / ".local/state/duet/repos.json"
    registry.parent.mkdir(parents=True)
    registry.write_text('{"watched": [], "known": "x"}')  # not Duet's: it must not read as "nothing watched"
    work = small_project(tmp_path / "w")
    with pytest.raises(OSError, match="damaged"):
        KnownRepos().trusted(work / ".git")
    result = run_cli(["run", "hi", "--output", "json"], work, fake_api([Turn(content="hi")]).base_url)
    assert result.returncode == 2 and "damaged" in result.stderr and "Traceback" not in result.stderr
    assert registry.read_text() == '{"watched": [], "known": "x"}'
