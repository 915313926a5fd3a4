"""Duet's own git invocations, hardened against what a model-run command may have left in the work tree.

Commands may write anywhere in the workspace except the top-level `.git/`, so they can create a nested
repository (`src/.git/config` with `core.fsmonitor = <command>`). Git runs a repository's fsmonitor and hooks,
and top-level commands such as `git status` or `git add -A` look into nested repositories. Every git command
Duet itself runs therefore carries these settings on its command line, where they beat any repository's config
and reach the git processes it starts for nested repositories (through GIT_CONFIG_PARAMETERS).
"""

from __future__ import annotations

from typing import Any

HARDENING = (
    ("core.fsmonitor", "false"),        # never run a repository's file-system monitor command
    ("core.hooksPath", "/dev/null"),    # never run hooks
    ("submodule.recurse", "false"),     # never recurse into submodules
    ("diff.ignoreSubmodules", "all"),   # never spawn git inside nested repositories to look at them
    ("protocol.ext.allow", "never"),    # no remote helper commands
)


def git_config_args() -> list[str]:
    """`-c key=value` pairs for a `git` command line (before the subcommand)."""
    return [arg for key, value in HARDENING for arg in ("-c", f"{key}={value}")]


def git_argv(*args: str) -> list[str]:
    """`git` with the hardening settings and then `args`."""
    return ["git", *git_config_args(), *args]


def harden_repo(repo: Any) -> Any:
    """The GitPython `repo`, with every later command it runs carrying the hardening settings."""
    repo.git.set_persistent_git_options(c=[f"{key}={value}" for key, value in HARDENING])
    return repo
