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
    return prompts.render("sandbox_blocked",
        writable=", ".join(info.writable), network="on" if info.network else "off", allow="; ".join(allow)).strip()
