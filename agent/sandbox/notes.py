"""The note a model reads when the sandbox refused something its command tried."""

from __future__ import annotations

import re

import prompts
from agent.sandbox.policy import SandboxInfo

DENIED = re.compile(r"Permission denied|Read-only file system|Operation not permitted|EACCES|EPERM|"
                    r"Network is unreachable|Temporary failure in name resolution")


def blocked_note(info: SandboxInfo, output: str) -> str:
    """One line for the tool result when `output` shows a refusal, or ''."""
    if not info.active or not DENIED.search(output):
        return ""
    allow = [] if info.network else ["network: --network or sandbox.network = true"]
    allow.append("writes in the workspace: --approval auto-edit or full-auto" if "the workspace" not in
                 " ".join(info.writable) else "other paths: --sandbox off, at the user's own risk")
    # Without a mount namespace Landlock cannot make the workspace root writable: say so where it applies.
    writes_workspace = "the workspace" in " ".join(info.writable)
    root_limit = prompts.render("sandbox_root_limit").strip() if writes_workspace and not info.root_writable else ""
    return prompts.render("sandbox_blocked", writable=", ".join(info.writable), root_limit=root_limit,
        network="on" if info.network else "off", allow="; ".join(allow)).strip()
