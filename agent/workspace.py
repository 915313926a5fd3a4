"""Which directory a command works in: the git root of where the user stands, as git, Claude Code and Codex do.

Kept free of heavy imports: every subcommand calls it before doing anything else.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from agent.errors import ConfigError


def _git_toplevel(start: Path) -> Path | None:
    """git's own answer for `start` (`rev-parse --show-toplevel`): an empty or broken `.git` is no repository."""
    from agent.gitsafe import git_config_args, git_env, helper_binary

    git = helper_binary("git", start)  # never one in a workspace where Duet let commands write
    if git is None:
        return None
    try:
        done = subprocess.run([git, *git_config_args(), "-C", str(start), "rev-parse", "--show-toplevel"],
                              capture_output=True, text=True, timeout=10, env=git_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


def git_root(start: Path) -> Path | None:
    """The top of the git work tree containing `start`, as git itself says (so an empty `.git` directory git
    rejects is not a repository), or None outside any repository. A repository that appeared where Duet let
    commands write (agent.repo.known) is passed over: a command's `git init` in `pkg/` does not make `pkg/`
    the workspace."""
    from agent.repo.known import KnownRepos

    known: KnownRepos | None = None
    for folder in (start, *start.parents):
        if not os.path.lexists(folder / ".git"):
            continue
        top = _git_toplevel(folder)
        if top != folder:
            continue  # git does not take this `.git` (empty, broken): look further up, as git would
        known = known or KnownRepos()
        try:
            if known.trusted(folder / ".git"):
                return folder
        except OSError:  # the registry is damaged: no repository is taken as the workspace until it is fixed
            continue
    return None


def find_workspace(explicit: str | None, cwd: Path) -> Path:
    """`-C DIR` when given (taken as it is); otherwise the git root of `cwd`, or `cwd` outside a repository, but
    never HOME or `/` (a scan of either reads everything the user has): those need `-C`."""
    if explicit is not None:
        return (cwd / explicit).resolve()
    here = cwd.resolve()
    root = git_root(here) or here
    home = Path(os.environ["HOME"]).resolve() if os.environ.get("HOME") else None
    if root == Path("/") or root == home:
        where = "your home directory" if root == home else "/"
        raise ConfigError(f"refusing to work in {where} ({root}) as a workspace: cd into a project, or pass "
                          f"-C {root} if you mean it")
    return root


def start_dir_in(workspace: Path, cwd: Path) -> Path | None:
    """Where tools should start: the user's directory when it lies below the workspace root, else None."""
    here = cwd.resolve()
    return here if here != workspace and here.is_relative_to(workspace) else None
