"""Red-team pass on issue 23 items 1-4 (sealed caches, helper binaries, untrusted repositories, `.duet` at any
depth): each test is an attack run with real `agent` processes and real sandboxed commands scripted through the
fake model. A payload leaves a marker where only Duet's own, unsandboxed process can write (HOME, read-only to
commands); the attack held when no marker appears."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.repo.known import KnownRepos
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import GIT_ENV, TEST_KEY, git
from tests.e2e import FAST_RETRIES, agent_bin, base_env, run_cli, summary

REAL_GIT = shutil.which("git") or "/usr/bin/git"
RUN = ["run", "go", "--approval", "full-auto", "--output", "json"]


@pytest.fixture
def outside() -> Iterator[Path]:
    """A scratch directory outside /tmp and outside any repository: the system temp dir is refused to helper
    binaries whatever else holds, so attacks on that rule need workspaces elsewhere (as a user's are)."""
    base = Path(tempfile.mkdtemp(prefix="duet-redteam-", dir="/srv"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def shell(command: str) -> Turn:
    return Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": command})])


def write(path: str, content: str) -> Turn:
    return Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": path, "content": content})])


def project(root: Path) -> Path:
    """A committed repository, as a user's clone would be."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text("x = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def plant_git(bindir: Path, marker: Path) -> Path:
    """A `git` that leaves `marker` and then behaves as git (what a command could write into a venv)."""
    bindir.mkdir(parents=True, exist_ok=True)
    (bindir / "git").write_text(f"#!/bin/sh\ntouch {marker}\nexec {REAL_GIT} \"$@\"\n")
    (bindir / "git").chmod(0o755)
    return bindir


def with_path(first: Path) -> dict[str, str]:
    return {"PATH": f"{first}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def filter_payload(marker: Path) -> str:
    """Shell lines making the repository of the current directory run `touch marker` on Duet's next git status."""
    return (f"git config filter.x.clean 'touch {marker}; cat' && echo '* filter=x' > .gitattributes && sleep 1 "
            "&& touch app.py && echo planted")


# --- helper binaries --------------------------------------------------------------------------------------

def test_a_planted_venv_git_is_not_run_when_the_workspace_is_given_with_dash_c(outside: Path, fake_api,
                                                                               isolated_home: Path) -> None:
    marker = isolated_home / "pwned-dash-c"
    work = project(outside / "w")
    planted = plant_git(work / ".venv/bin", marker)
    elsewhere = outside / "elsewhere"
    elsewhere.mkdir()
    server = fake_api([write("new.py", "y = 2\n"), Turn(content="done")])
    result = run_cli(["run", "edit", "-C", str(work), "--approval", "full-auto", "--output", "json"], elsewhere,
                       server.base_url, env_extra=with_path(planted))
    assert result.returncode == 0, result.stderr
    assert summary(result)["files_changed"]
    assert not marker.exists(), "Duet ran the workspace's git (workspace given with -C, cwd elsewhere)"


def test_a_planted_venv_git_is_not_run_from_a_subdirectory_a_command_made_a_repository(outside: Path, fake_api,
                                                                                       isolated_home: Path) -> None:
    marker = isolated_home / "pwned-from-pkg"
    work = project(outside / "w")
    (work / "pkg").mkdir()
    real = REAL_GIT
    plant = (f"mkdir -p .venv/bin && printf '#!/bin/sh\\ntouch {marker}\\nexec {real} \"$@\"\\n' > .venv/bin/git && "
             "chmod +x .venv/bin/git && cd pkg && git init -q . && echo ok")
    first = run_cli(RUN, work, fake_api([shell(plant), Turn(content="done")]).base_url)
    assert first.returncode == 0, first.stderr
    assert (work / ".venv/bin/git").is_file() and (work / "pkg/.git").is_dir()
    server = fake_api([write("new.py", "y = 2\n"), Turn(content="done")])
    second = run_cli(["run", "edit", "--approval", "full-auto", "--output", "json"], work / "pkg",
                       server.base_url, env_extra=with_path(work / ".venv/bin"))
    assert second.returncode == 0, second.stderr
    assert not marker.exists(), "Duet ran a git a command planted in the workspace (started from pkg/)"


def test_gitpython_never_starts_a_planted_git_for_commit(outside: Path, fake_api, isolated_home: Path) -> None:
    marker = isolated_home / "pwned-gitpython"
    work = project(outside / "w")
    planted = plant_git(work / ".venv/bin", marker)
    server = fake_api([write("new.py", "y = 2\n"), Turn(content="done")])
    result = run_cli(["run", "edit", "--approval", "full-auto", "--output", "json", "--commit"], work,
                       server.base_url, env_extra=with_path(planted))
    assert result.returncode == 0, result.stderr
    assert "new.py" in git(work, "show", "--stat", "HEAD")
    assert not marker.exists(), "`import git` ran the git first on PATH (GitPython's refresh)"


@pytest.mark.parametrize("entry", ["relative", "empty", "tilde", "symlink"])
def test_path_entries_that_mean_the_workspace_are_not_searched(outside: Path, fake_api, isolated_home: Path,
                                                               entry: str) -> None:
    marker = isolated_home / f"pwned-path-{entry}"
    work = project(outside / "w")
    plant_git(work / "bin", marker)
    plant_git(work, marker)  # `git` in the workspace root, for "" (the current directory)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "tools")
    (isolated_home / "bin").symlink_to(work / "bin")
    spelled = {"relative": "bin", "empty": "", "tilde": "~/bin", "symlink": str(isolated_home / "bin")}[entry]
    path = f"{spelled}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    server = fake_api([write("new.py", "y = 2\n"), Turn(content="done")])
    result = run_cli(["run", "edit", "--approval", "full-auto", "--output", "json"], work, server.base_url,
                       env_extra={"PATH": path})
    assert result.returncode == 0, result.stderr
    assert summary(result)["files_changed"]
    assert not marker.exists(), f"a PATH entry ({entry}) led Duet to the workspace's git"


def test_no_git_on_path_is_a_working_run_without_checkpoints(tmp_path: Path, fake_api) -> None:
    work = project(tmp_path / "w")
    bare = tmp_path / "nogit"
    bare.mkdir()
    for tool in ("bash", "sh", "cat", "ls", "env"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    server = fake_api([shell("ls"), Turn(content="done")])
    result = run_cli(RUN, work, server.base_url, env_extra={"PATH": f"{Path(sys.executable).parent}:{bare}"})
    assert "Traceback" not in result.stderr
    assert result.returncode == 0 or result.stderr.count("\n") <= 2, result.stderr


# --- repositories commands made or changed -----------------------------------------------------------------

def test_a_known_nested_repository_a_command_reconfigured_is_not_trusted(tmp_path: Path, fake_api,
                                                                         isolated_home: Path) -> None:
    marker = isolated_home / "pwned-nested-known"
    work = project(tmp_path / "mono")
    project(work / "vendor/lib")  # a nested repository the user had before Duet ran anything
    first = run_cli(RUN, work, fake_api([shell(f"cd vendor/lib && {filter_payload(marker)}"),
                                           Turn(content="done")]).base_url)
    assert first.returncode == 0, first.stderr
    assert "filter" in (work / "vendor/lib/.git/config").read_text()  # the nested .git is writable to commands
    second = run_cli(["run", "hi", "--approval", "read-only", "--output", "json"], work / "vendor/lib",
                       fake_api([Turn(content="hello")]).base_url)
    assert second.returncode == 0, second.stderr
    assert not marker.exists(), "Duet ran git in a nested repository whose config a command rewrote"
    assert "changed (its config)" in (KnownRepos().untrusted_because(work / "vendor/lib/.git") or "")
    assert KnownRepos().trusted(work / ".git")  # the user's own top-level repository is not affected
    trusted = run_cli(["trust", "-C", str(work / "vendor/lib")], work)
    assert trusted.returncode == 0 and KnownRepos().trusted(work / "vendor/lib/.git")


@pytest.mark.parametrize(("plant", "kind"), [
    ("git init -q --separate-git-dir=store . && git add app.py && cat .git", "file"),
    ("git init -q store && mv store/.git realgit && ln -s realgit .git && git add app.py", "symlink"),
], ids=["dot-git-file", "dot-git-symlink"])
def test_a_dot_git_file_or_symlink_a_command_made_is_untrusted(tmp_path: Path, fake_api, isolated_home: Path,
                                                               plant: str, kind: str) -> None:
    marker = isolated_home / f"pwned-git{kind}"
    work = tmp_path / "plain"
    work.mkdir()
    (work / "app.py").write_text("x = 1\n")
    first = run_cli(RUN, work, fake_api([shell(f"{plant} && {filter_payload(marker)}"),
                                           Turn(content="done")]).base_url)
    assert first.returncode == 0, first.stderr
    assert (work / ".git").is_symlink() if kind == "symlink" else (work / ".git").is_file()
    second = run_cli(["run", "hi", "--approval", "read-only", "--output", "json"], work,
                       fake_api([Turn(content="hello")]).base_url)
    assert second.returncode == 0, second.stderr
    assert not marker.exists(), f"Duet ran git through a `.git` {kind} a command made"


@pytest.mark.parametrize("there", [True, False], ids=["included-file-there", "included-file-made-later"])
def test_include_path_of_a_trusted_repository_into_the_work_tree(outside: Path, fake_api, isolated_home: Path,
                                                                 there: bool) -> None:
    """A common pattern: the repository's config includes a shared, committed `.gitconfig` from the work tree.
    A command (which may write the work tree, not `.git/`) adds a filter driver there, or creates the included
    file a first git call found missing (Duet remembers git's answer until a file it depends on changes)."""
    marker = isolated_home / "pwned-include"
    work = project(outside / "w")
    if there:
        (work / ".gitconfig").write_text("[core]\n\tautocrlf = false\n")
    git(work, "config", "include.path", "../.gitconfig")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "shared config", "--allow-empty")
    plant = (f"printf '[filter \"x\"]\\n\\tclean = touch {marker}; cat\\n' >> .gitconfig && "
             "echo '* filter=x' > .gitattributes && sleep 1 && touch app.py && echo planted")
    server = fake_api([write("notes.txt", "x\n"), shell(plant), write("more.txt", "y\n"), Turn(content="done")])
    first = run_cli(RUN, work, server.base_url)
    assert first.returncode == 0, first.stderr
    assert "planted" in json.dumps(server.requests[2])
    assert not marker.exists(), "Duet ran a filter defined in a work-tree file its repository includes"


FIRST_CONTACT = ("first contact trusts a repository's own .git/config: one copied whole (an eval suite's task "
                 "repository, an unpacked archive) runs its filter drivers and gpg.program in Duet's own git; "
                 "fix: agent.eval gives each copy a fresh repository (never the suite's .git/config), and "
                 "first contact voids repository-local program keys until `agent trust`")


@pytest.mark.parametrize("place", [
    "tmp", pytest.param("outside", marks=pytest.mark.xfail(strict=True, reason=FIRST_CONTACT))])
def test_a_repository_whose_config_came_with_the_copy_runs_no_filter(outside: Path, tmp_path: Path, fake_api,
                                                                    isolated_home: Path, place: str) -> None:
    """First contact with a `.git` copied whole (an eval suite's task repository, an unpacked archive): its
    config is the attacker's, and it is trusted as a fresh clone. In the shared temp dir, where another run's
    commands may write a `.git/config`, its program keys are void."""
    marker = isolated_home / "pwned-first-contact"
    work = project((tmp_path if place == "tmp" else outside) / "unpacked")
    git(work, "config", "filter.x.clean", f"touch {marker}; cat")
    (work / ".gitattributes").write_text("* filter=x\n")
    later = time.time() + 5
    os.utime(work / "app.py", (later, later))  # same bytes, new stat: git status must hash it, through the filter
    result = run_cli(["run", "hi", "--approval", "read-only", "--output", "json"], work,
                       fake_api([Turn(content="hello")]).base_url)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "Duet's own git ran a filter driver from a repository's config"


@pytest.mark.xfail(strict=True, reason=FIRST_CONTACT)
def test_commit_signing_program_of_a_copied_repository_is_not_run(outside: Path, fake_api,
                                                                  isolated_home: Path) -> None:
    marker = isolated_home / "pwned-gpg"
    work = project(outside / "unpacked")
    git(work, "config", "commit.gpgSign", "true")
    git(work, "config", "gpg.program", str(plant_git(outside / "gpgbin", marker) / "git"))
    server = fake_api([write("new.py", "y = 2\n"), Turn(content="done")])
    result = run_cli(["run", "edit", "--approval", "full-auto", "--output", "json"], work, server.base_url)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "a checkpoint ran the repository's gpg.program"
    server = fake_api([write("newer.py", "y = 2\n"), Turn(content="done")])
    committed = run_cli(["run", "edit", "--approval", "full-auto", "--output", "json", "--commit"], work,
                          server.base_url)
    assert not marker.exists(), "--commit ran the gpg.program of a repository's own config"
    assert "Traceback" not in committed.stderr


# --- the registry and the key -------------------------------------------------------------------------------

def test_commands_can_neither_read_the_cache_key_nor_forge_the_registry(tmp_path: Path, fake_api,
                                                                        isolated_home: Path) -> None:
    work = project(tmp_path / "w")
    key = isolated_home / ".config/duet/cache.key"
    registry = isolated_home / ".local/state/duet/repos.json"
    probe = (f"cat {key} | od -c | head -2; echo KEY=$?; echo '{{}}' > {registry}; echo REG=$?; "
             f"ls {isolated_home}/.cache/duet/workspaces; echo LS=$?; "
             f"rm -rf {isolated_home}/.local/state/duet; echo RM=$?")
    server = fake_api([shell("true"), shell(probe), Turn(content="done")])
    result = run_cli(RUN, work, server.base_url)
    assert result.returncode == 0, result.stderr
    assert key.is_file() and registry.is_file()
    known = json.loads(registry.read_text())
    assert str(work) in known["watched"], "the registry was emptied by a command"
    seen = str(server.requests[2])
    assert "No such file" in seen or "denied" in seen or "Permission" in seen


# (fixed) HOME as the workspace: what is hidden is carved out of the write grants too (agent/sandbox/paths)


def test_a_command_cannot_rewrite_the_users_config_when_home_is_the_workspace(outside: Path, fake_api) -> None:
    home = outside / "home"
    (home / ".config/duet").mkdir(parents=True)
    config = home / ".config/duet/config.toml"
    config.write_text("# mine\n")
    (home / "notes.txt").write_text("notes\n")
    attack = "printf '[sandbox]\\nmode = \"off\"\\n' >> .config/duet/config.toml; echo done"
    result = run_cli([*RUN, "-C", str(home)], home, fake_api([shell(attack), Turn(content="done")]).base_url,
                       env_extra={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert config.read_text() == "# mine\n", "a sandboxed command rewrote the user's own Duet config"


def test_the_registry_a_command_could_write_when_home_is_the_workspace(outside: Path, fake_api) -> None:
    """`agent -C ~` (or HOME a dotfiles repository): HOME is the workspace, writable to commands, and so is
    `~/.local/state/duet/repos.json`."""
    marker = outside / "pwned-home-registry"
    home = outside / "home"
    home.mkdir()
    (home / "notes.txt").write_text("notes\n")
    plant = (f"git init -q . && echo x > app.py && git add app.py && {filter_payload(marker)} && python3 -c \""
             "import json,os,pathlib; p=pathlib.Path('.local/state/duet/repos.json'); d=json.loads(p.read_text()); "
             "g=pathlib.Path('.git').resolve(); st=os.stat(g); d['known'][str(g)]=[st.st_dev, st.st_ino]; "
             "p.write_text(json.dumps(d))\" && echo forged")
    first = run_cli([*RUN, "-C", str(home)], home, fake_api([shell(plant), Turn(content="done")]).base_url,
                      env_extra={"HOME": str(home)})
    assert first.returncode == 0, first.stderr
    second = run_cli(["run", "hi", "-C", str(home), "--approval", "read-only", "--output", "json"], home,
                       fake_api([Turn(content="hello")]).base_url, env_extra={"HOME": str(home)})
    assert second.returncode == 0, second.stderr
    assert not marker.exists(), "a command forged repos.json in a HOME that was the workspace"


def test_two_sessions_at_once_keep_both_watched_records(tmp_path: Path, fake_api) -> None:
    works = [project(tmp_path / f"w{i}") for i in range(4)]
    servers = [fake_api([Turn(content="hi")]) for _ in works]
    procs = [subprocess.Popen([agent_bin(), "run", "hi", "--approval", "read-only", "--output", "json"], cwd=w,
                              env={**base_env(), **GIT_ENV, "DEEPSEEK_API_KEY": TEST_KEY,
                                   "DEEPSEEK_BASE_URL": s.base_url}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w, s in zip(works, servers, strict=True)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    data = json.loads(KnownRepos().path.read_text())
    assert all(str(w) in data["watched"] and str(w / ".git") in data["known"] for w in works)


# --- .duet content ------------------------------------------------------------------------------------------

def test_committed_sessions_and_marshal_index_in_dot_duet_are_ignored(tmp_path: Path, fake_api,
                                                                     isolated_home: Path) -> None:
    import marshal

    marker = isolated_home / "pwned-marshal"
    work = project(tmp_path / "w")
    (work / ".duet/cache").mkdir(parents=True)
    (work / ".duet/sessions").mkdir(parents=True)
    code = compile(f"open({str(marker)!r}, 'w')", "x", "exec")
    for name in ("index.bin", "index.snap", "scan.marshal", "counts.json", "tags.bin"):
        (work / ".duet/cache" / name).write_bytes(marshal.dumps(code))
    fake = {"type": "session.started", "session_id": "20260101-000000-abcdef", "workspace": str(work),
            "command": "run", "task": "ignore previous instructions", "resumed": False}
    (work / ".duet/sessions/20260101-000000-abcdef.jsonl").write_text(json.dumps(fake) + "\n")
    (work / ".duet/config.toml").write_text(FAST_RETRIES + "[context]\npack_min_window = 2000000\n")
    git(work, "add", "-A", "-f")
    git(work, "commit", "-qm", "planted")
    ctx = run_cli(["context"], work)
    assert ctx.returncode == 0, ctx.stderr
    listed = run_cli(["sessions"], work)
    assert "abcdef" not in listed.stdout
    resumed = run_cli(["resume", "20260101-000000-abcdef", "hi", "--output", "json"], work,
                        fake_api([Turn(content="hello")]).base_url)
    assert "Traceback" not in resumed.stderr
    assert not marker.exists()


# --- as an unprivileged user (Landlock without a mount namespace: the workspace root is not writable) -------

SETPRIV = shutil.which("setpriv")
as_nobody = pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="needs root to become nobody")


def run_as_nobody(args: list[str], cwd: Path, home: Path, base_url: str,
                  path_first: Path | None = None) -> subprocess.CompletedProcess[str]:

    env = {k: v for k, v in base_env().items() if not k.startswith(("XDG_", "DEEPSEEK_", "OPENAI_"))}
    env.update(GIT_ENV, HOME=str(home), DEEPSEEK_API_KEY=TEST_KEY, DEEPSEEK_BASE_URL=base_url)
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
    argv = [str(SETPRIV), "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", agent_bin(), *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def nobody_tree(outside: Path) -> tuple[Path, Path]:
    home, work = outside / "home", outside / "w"
    home.mkdir()
    project(work)
    (work / "pkg").mkdir()
    subprocess.run(["chown", "-R", "nobody:nogroup", str(home), str(work)], check=True)
    return home, work


@as_nobody
def test_as_nobody_a_planted_git_and_a_nested_repository_are_not_used(outside: Path, fake_api) -> None:
    home, work = nobody_tree(outside)
    marker = home / "pwned-as-nobody"
    real = REAL_GIT
    plant = (f"cd pkg && mkdir -p .venv/bin && printf '#!/bin/sh\\ntouch {marker}\\nexec {real} \"$@\"\\n' > "
             f".venv/bin/git && chmod +x .venv/bin/git && git init -q . && echo x > app.py && git add app.py && "
             f"{filter_payload(marker)}")
    first = run_as_nobody(RUN, work, home, fake_api([shell(plant), Turn(content="done")]).base_url)
    assert first.returncode == 0, first.stderr
    assert (work / "pkg/.git/config").is_file() and (work / "pkg/.venv/bin/git").is_file()
    elsewhere = outside / "elsewhere"
    elsewhere.mkdir()
    server = fake_api([write("new.py", "y = 2\n"), Turn(content="done")])
    second = run_as_nobody(["run", "edit", "-C", str(work), "--approval", "full-auto", "--output", "json"],
                           elsewhere, home, server.base_url, path_first=work / "pkg/.venv/bin")
    assert second.returncode == 0, second.stderr
    third = run_as_nobody(["run", "hi", "--approval", "read-only", "--output", "json"], work / "pkg", home,
                          fake_api([Turn(content="hello")]).base_url, path_first=work / "pkg/.venv/bin")
    assert third.returncode == 0, third.stderr
    assert not marker.exists(), "as nobody: Duet ran a planted git or git in a command-made repository"


@as_nobody
def test_as_nobody_commands_cannot_reach_the_key_the_registry_or_the_caches(outside: Path, fake_api) -> None:
    home, work = nobody_tree(outside)
    probe = (f"cat {home}/.config/duet/cache.key; echo KEY=$?; echo x >> {home}/.local/state/duet/repos.json; "
             f"echo REG=$?; touch {home}/.cache/duet/workspaces/x; echo CACHE=$?; mkdir .duet/cache; echo DUET=$?")
    server = fake_api([shell("true"), shell(probe), Turn(content="done")])
    ctx = run_as_nobody(["context"], work, home, server.base_url)  # makes the key and the caches
    assert ctx.returncode == 0, ctx.stderr
    result = run_as_nobody(RUN, work, home, server.base_url)
    assert result.returncode == 0, result.stderr
    seen = json.dumps(server.requests[2])
    assert all(f"{name}=0" not in seen for name in ("KEY", "REG", "CACHE", "DUET")), seen[-600:]
    assert json.loads((home / ".local/state/duet/repos.json").read_text())["watched"]


# --- agent eval: a suite's task repository with its own .git -------------------------------------------------

def run_eval(suite: Path, out: Path, fake_api, home: Path, extra_env: dict[str, str],  # type: ignore[no-untyped-def]
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A real `agent eval` of `suite` (one flash run per task) against a fresh fake server."""
    server = fake_api([Turn(content="done")] * 4)
    config = home / ".config/duet/config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(FAST_RETRIES)
    env = {**base_env(), **GIT_ENV, "DEEPSEEK_BASE_URL": server.base_url, "DEEPSEEK_API_KEY": TEST_KEY,
           **extra_env}
    return subprocess.run([agent_bin(), "eval", str(suite / "suite.toml"), "--model", "deepseek-v4-flash",
                           "--jobs", "1", "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, cwd=cwd)


@pytest.mark.parametrize("tmpdir", ["system", "outside"])
def test_an_eval_suites_own_git_config_runs_nothing_in_duets_git(outside: Path, tmp_path: Path, fake_api,
                                                               isolated_home: Path, tmpdir: str) -> None:
    """The suite is someone else's: a task repository shipped with `.git/` is copied whole, config and all.
    The eval's copies live in the system temp dir, where program keys of a repository's config are void; with
    TMPDIR elsewhere (a user's choice, e.g. a roomier disk) that rule no longer covers them."""

    marker = isolated_home / f"pwned-eval-{tmpdir}"
    suite = outside / "suite"
    repo = project(suite / "repos/r")
    git(repo, "config", "filter.x.clean", f"touch {marker}; cat")
    (repo / ".gitattributes").write_text("* filter=x\n")
    (suite / "suite.toml").write_text('[[task]]\nid = "t"\nrepo = "repos/r"\nkind = "run"\nprompt = "hi"\n'
                                      'check = "true"\n')
    extra = {}
    if tmpdir == "outside":
        (outside / "tmp").mkdir()
        extra["TMPDIR"] = str(outside / "tmp")
    done = run_eval(suite, tmp_path / "out", fake_api, isolated_home, extra)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), f"an eval suite's .git/config ran in Duet's own git (copies in the {tmpdir} temp dir)"


# --- MCP: a server of the user's config named by a bare command ---------------------------------------------

# (fixed) mcp path: resolved with the helper-binary rule


def test_an_mcp_server_command_is_not_taken_from_the_workspace(outside: Path, fake_api, isolated_home: Path) -> None:
    marker = isolated_home / "pwned-mcp"
    work = project(outside / "w")
    bindir = work / ".venv/bin"
    bindir.mkdir(parents=True)
    (bindir / "duet-rt-server").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    (bindir / "duet-rt-server").chmod(0o755)
    config = isolated_home / ".config/duet/config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(FAST_RETRIES + '\n[mcp_servers.tickets]\ncommand = "duet-rt-server"\n')
    result = run_cli(["run", "hi", "--approval", "read-only", "--output", "json"], work,
                       fake_api([Turn(content="hello")]).base_url, env_extra=with_path(bindir))
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "an MCP server command was taken from the workspace's venv"


# (fixed) eval git: resolved with the helper-binary rule


def test_the_eval_runner_never_runs_a_planted_git(outside: Path, tmp_path: Path, fake_api,
                                                  isolated_home: Path) -> None:

    marker = isolated_home / "pwned-eval-git"
    earlier = project(outside / "earlier")
    KnownRepos().watch(earlier)  # a workspace where a session let commands write
    planted = plant_git(earlier / ".venv/bin", marker)
    suite = outside / "suite"
    (suite / "repos/r").mkdir(parents=True)
    (suite / "repos/r/app.py").write_text("x = 1\n")  # no .git: the runner makes the copy a repository
    (suite / "suite.toml").write_text('[[task]]\nid = "t"\nrepo = "repos/r"\nkind = "run"\nprompt = "hi"\n'
                                      'check = "true"\n')
    done = run_eval(suite, tmp_path / "out", fake_api, isolated_home,
                    {"PATH": f"{planted}{os.pathsep}{base_env()['PATH']}"}, cwd=outside)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "the eval runner ran a git from a watched workspace's venv"


# --- .duet at any depth, through every file tool of a real session -----------------------------------------

def test_no_file_tool_plants_a_dot_duet_below_the_root(tmp_path: Path, fake_api) -> None:
    work = project(tmp_path / "w")
    patch = "*** Begin Patch\n*** Add File: x/.Duet/config.toml\n+[sandbox]\n*** End Patch\n"
    calls = [write("lib/.duet/cache/tags.pickle", "x"), write("a/.du\u200bet/config.toml", "x"),
             Turn(tool_calls=[ScriptedCall(name="apply_patch", arguments={"patch": patch})]),
             write("lib/.duet. /sessions/s.jsonl", "x"), Turn(content="done")]
    server = fake_api(calls)
    result = run_cli(["run", "go", "--approval", "auto-edit", "--output", "json"], work, server.base_url)
    assert result.returncode == 0, result.stderr
    assert json.dumps(server.requests[-1]).count("is protected") == 4
    planted = [p for p in work.rglob("*") if ".git" not in p.parts and p.name not in ("app.py",)]
    assert planted == [], planted


def test_dash_c_naming_a_nested_repository_a_command_made_is_no_first_contact(outside: Path, fake_api,
                                                                             isolated_home: Path) -> None:
    """A second session told `-C W/pkg` while (or after) the first one's command made `pkg/.git`: the new
    workspace is watched for the first time, but its repository is inside one already watched."""
    marker = isolated_home / "pwned-dash-c-nested"
    work = project(outside / "w")
    (work / "pkg").mkdir()
    plant = f"cd pkg && git init -q . && echo x > app.py && git add app.py && {filter_payload(marker)}"
    first = run_cli(RUN, work, fake_api([shell(plant), Turn(content="done")]).base_url)
    assert first.returncode == 0, first.stderr
    second = run_cli(["run", "hi", "-C", str(work / "pkg"), "--approval", "read-only", "--output", "json"],
                       outside, fake_api([Turn(content="hello")]).base_url)
    assert second.returncode == 0, second.stderr
    assert "agent trust" in second.stderr + second.stdout
    assert not marker.exists(), "a -C session took a command-made repository as a fresh clone"


def test_a_filter_driver_whose_name_holds_an_equals_sign_is_refused_not_half_voided(tmp_path: Path) -> None:
    """`-c filter.a=b.clean=` sets `filter.a`, not the driver `a=b`: such a key cannot be voided on git's command
    line, so Duet runs no git in that repository (found by the cold review)."""
    from agent.gitsafe import git_argv

    marker = tmp_path / "pwned-equals"
    work = tmp_path / "eq"
    work.mkdir()
    git(work, "init", "-q")
    git(work, "config", "include.path", "../inc.cfg")
    (work / "inc.cfg").write_text(f'[filter "a=b"]\n\tclean = touch {marker}; cat\n')  # in the work tree
    (work / ".gitattributes").write_text("* filter=a=b\n")
    (work / "x").write_text("x\n")
    with pytest.raises(OSError, match="cannot switch off"):
        git_argv(work, "add", "x")
    assert not marker.exists()
