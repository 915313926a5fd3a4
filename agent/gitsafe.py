"""Duet's own git invocations, hardened against what a model-run command may have left in the work tree.

Commands may write anywhere in the workspace except the top-level `.git/`, so they can create a repository
(`git init` where there was none, or `src/.git/config` with `core.fsmonitor`, `filter.x.clean`,
`diff.external`, `include.path`, …). Git runs programs named in a repository's config, and Duet's git calls run
unsandboxed. Three layers:
- a repository that appeared where Duet let commands write is never used (agent.repo.known): `git_argv` raises
  UntrustedRepository (an OSError, which every caller already treats as "git is not available here");
- git itself is the binary found outside the workspace and the temp dirs (tools.binaries), run with a PATH of
  such directories only and without the user's API keys in its environment;
- every command line carries settings that beat any repository's config for the keys with fixed names that
  run programs or reach into nested repositories (they reach the git processes it starts through
  GIT_CONFIG_PARAMETERS); content diffs are asked for with --no-ext-diff --no-textconv.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.repo.known import KnownRepos, dot_git
from agent.repo.origins import voiding_args
from tools.binaries import clean_path, find_binary

HARDENING = (
    ("core.fsmonitor", "false"),        # never run a repository's file-system monitor command
    ("core.hooksPath", "/dev/null"),    # never run hooks
    ("submodule.recurse", "false"),     # never recurse into submodules
    ("diff.ignoreSubmodules", "all"),   # never spawn git inside nested repositories to look at them
    ("protocol.ext.allow", "never"),    # no remote helper commands
    ("core.pager", "cat"),              # no pager program
    ("core.sshCommand", "false"),       # no ssh program (Duet never talks to a remote)
    ("core.askPass", ""),
    ("credential.helper", ""),          # an empty value clears every configured helper
    ("core.alternateRefsCommand", ""),
    ("uploadpack.packObjectsHook", ""),
    ("gc.auto", "0"),                   # no background gc or maintenance started by Duet's own commands
    ("maintenance.auto", "false"),
)
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_ACCESS_KEY", "_SECRET_KEY")


class UntrustedRepository(OSError):
    """A repository Duet will not run git in; the message says why and how to trust it."""


def helper_binary(name: str, root: Path | None = None) -> str | None:
    """A helper Duet runs itself (git, bwrap), resolved outside `root` (default: the git root of the current
    directory), the temp dirs and every workspace where Duet ever let commands write: `-C DIR` names a
    workspace the current directory need not be in, and a command may have planted `pkg/.venv/bin/git`."""
    return find_binary(name, root, refused=KnownRepos().watched_places())


def git_binary(root: Path | None = None) -> str:
    """git, resolved as `helper_binary` says; without one, a path that fails to start (the call then fails as
    "git is not available", as it would with no git installed)."""
    return helper_binary("git", root) or "/nonexistent/git"


def git_config_args() -> list[str]:
    """`-c key=value` pairs for a `git` command line (before the subcommand)."""
    return [arg for key, value in HARDENING for arg in ("-c", f"{key}={value}")]


def git_env(extra: Mapping[str, str] | None = None, root: Path | None = None) -> dict[str, str]:
    """The environment of Duet's own git commands: the user's, without secrets and with a clean PATH."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith(SECRET_SUFFIXES)}
    env.update(PATH=clean_path(root, KnownRepos().watched_places()), GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat")
    env.pop("GIT_EXTERNAL_DIFF", None)
    env.update(extra or {})
    return env


def check_repository(root: Path) -> None:
    """Raise UntrustedRepository when the repository `root` lies in is one Duet must not run git in."""
    entry = dot_git(root.resolve())
    if entry is not None and (why := KnownRepos().untrusted_because(entry)):
        raise UntrustedRepository(why)


def git_argv(root: Path, *args: str) -> list[str]:
    """`git` with the hardening settings and then `args`, for a command run in `root` (UntrustedRepository
    when that repository appeared where commands could write)."""
    check_repository(root)
    binary = git_binary(root)
    return [binary, *voided_here(binary, root), *git_config_args(), *args]


def voided_here(binary: str, root: Path) -> list[str]:
    """`-c` lines voiding the program keys that files commands could write set for `root` (agent.repo.origins)."""
    entry = dot_git(root.resolve())
    top = entry.parent if entry is not None else root.resolve()
    # Run at the top: git names the files it read relative to the top of the work tree.
    return voiding_args(binary, top, [top, *KnownRepos().watched_places()], git_env(root=root))


def import_gitpython(root: Path | None = None) -> Any:
    """The `git` (GitPython) module, imported without running a `git` from PATH: its import runs
    `git version` with the executable named in GIT_PYTHON_GIT_EXECUTABLE, else whatever `git` PATH finds first
    (an activated venv of the workspace, where a command may have written one)."""
    if "git" not in sys.modules:
        os.environ["GIT_PYTHON_GIT_EXECUTABLE"] = git_binary(root)
        os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")  # no git at all: fail at the first command instead
    import git

    return git


def harden_repo(repo: Any) -> Any:
    """The GitPython `repo`, with every later command it runs carrying the hardening settings, the resolved git
    binary and the clean environment."""
    root = Path(repo.working_tree_dir or repo.git_dir)
    check_repository(root)
    binary = git_binary(root)
    voided = voided_here(binary, root)[1::2]
    repo.git.set_persistent_git_options(c=[*voided, *(f"{key}={value}" for key, value in HARDENING)])
    type(repo.git).refresh(binary)  # GitPython's one git binary for this process (it checks it runs)
    env = git_env()
    # GitPython starts from os.environ and applies these on top: secrets are blanked, since it cannot drop them.
    repo.git.update_environment(**{k: v for k, v in env.items() if os.environ.get(k) != v},
                                **{k: "" for k in os.environ if k not in env})
    return repo
