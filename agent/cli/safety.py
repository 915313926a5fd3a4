"""`agent trust` and `agent doctor`: the user's side of the safety boundary."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agent import trust
from agent.config import load_config, user_config_path
from agent.errors import ConfigError
from tools.ripgrep import ripgrep


def _workspace(args: argparse.Namespace) -> Path:
    workspace = Path(args.workspace).resolve()
    if not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} is not a directory")
    return workspace


def run_trust(args: argparse.Namespace) -> int:
    """Trust the project's config file as it is now, and its git repository (one a command may have made)."""
    from agent.repo.known import KnownRepos

    workspace = _workspace(args)
    known = KnownRepos()
    entry = workspace / ".git"
    if os.path.lexists(entry) and not known.trusted(entry):
        known.trust(workspace)
        print(f"trusted the git repository {entry}: Duet runs git there again")
    digest = trust.record_trust(workspace, user_config_path(os.environ))
    if digest is None:
        print(f"{workspace} has no .duet/config.toml; nothing to trust")
    else:
        print(f"trusted {trust.project_config_path(workspace)} (sha256 {digest[:16]}…); a change to it asks again")
    return 0


def _mount_ns_row(mechanism: str) -> str:
    """Whether Landlock's commands get a private mount namespace (the workspace root writable) here."""
    from agent.sandbox.mountns import available

    if mechanism != "landlock":
        return "not used (only with Landlock)"
    if why := available():
        return f"not available ({why}): commands cannot create, delete or rename entries in the workspace root"
    return "in use when the workspace is writable: .git/ and .duet/ are read-only mounts, the workspace root writable"


def run_doctor(args: argparse.Namespace) -> int:
    """Report what confines the model's commands here, and what else Duet needs."""
    from agent.sandbox.bwrap import bwrap_path
    from agent.sandbox.landlock import abi_version
    from agent.sandbox.launcher import choose_mechanism
    from agent.sandbox.policy import SandboxPolicy
    from tools.screenshot import find_browser

    workspace = _workspace(args)
    config = load_config(workspace)
    abi = abi_version()
    policy = SandboxPolicy.from_config(config, workspace, os.environ)
    mechanism, detail, _ = choose_mechanism(policy)
    rows = [
        ("landlock", f"ABI {abi}" if abi else "not available in this kernel"),
        ("bwrap", bwrap_path() or "not installed or not usable here"),
        ("sandbox", f"{mechanism} ({detail})" + ("" if mechanism != "none" else "; approvals are the only guard")),
        ("mount ns", _mount_ns_row(mechanism)),
        ("network", "on" if config.sandbox.network else "off for commands (--network to allow)"),
        ("ripgrep", ripgrep(workspace) or "missing outside the workspace (search falls back to a slower Python scan)"),
        ("chromium", find_browser() or "missing (the screenshot tool is unavailable)"),
    ]
    for name in sorted({p.api_key_env for p in config.providers.values()}):
        rows.append((name, "set" if os.environ.get(name, "").strip() else "not set"))
    user = user_config_path(os.environ)
    rows.append(("user config", f"{user}" if user.is_file() else f"{user} (none)"))
    project = trust.project_config_path(workspace)
    if project.is_file():
        trusted = trust.is_trusted(workspace, user)
        rows.append(("project config", f"{project} ({'trusted' if trusted else 'NOT trusted: `agent trust`'})"))
    else:
        rows.append(("project config", "none"))
    for warning in config.warnings:
        rows.append(("warning", warning))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0
