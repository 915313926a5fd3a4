"""Which tool calls need the user's approval, and which shell commands are refused outright."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.config import Approval
from agent.denylist import dangerous_reason
from agent.mcp.names import is_mcp_name

if TYPE_CHECKING:
    from agent.approval_rules import AlwaysRule

__all__ = ["ApprovalRequest", "Approver", "Decision", "approval_allowing", "dangerous_reason", "needs_approval",
           "refuse_headless"]

@dataclass(frozen=True)
class ApprovalRequest:
    call_id: str
    tool: str
    summary: str
    command: str | None = None
    arguments: str = ""
    """The call's arguments as the model sent them (JSON), so a front end can show what is approved."""


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str = ""
    always: AlwaysRule | None = None
    """What the user said to allow from now on without asking (agent.approval_rules), if anything."""
    by_user: bool = True  # False when no one was asked (a headless run refuses on its own)


Approver = Callable[[ApprovalRequest], Awaitable[Decision]]


def needs_approval(policy: Approval, tool: str, mutates: bool, *, confined: bool = False,
                   preapproved: bool = False) -> bool | None:
    """True: ask; False: go ahead; None: refused by the policy itself.

    `confined`: commands run in an OS sandbox, which in read-only mode makes the workspace read-only, so the
    shell can still read (grep, run the tests) without changing anything. MCP tools follow the shell's rules
    (their effects are unknown and outside the sandbox), but never run in read-only mode; `preapproved`: the
    config lets this one run without asking.
    """
    if not mutates or policy == "full-auto":
        return False
    if policy == "read-only":
        return False if (tool == "shell" and confined) else None
    if preapproved:
        return False
    if policy == "auto-edit":
        return tool == "shell" or is_mcp_name(tool)
    return True


def approval_allowing(tools: Iterable[str]) -> Approval:
    """The least permissive approval mode under which a headless run may call all of `tools` (mutating ones)."""
    modes: tuple[Approval, ...] = ("auto-edit", "full-auto")
    return next((m for m in modes if all(needs_approval(m, t, True) is False for t in tools)), "full-auto")


async def refuse_headless(request: ApprovalRequest) -> Decision:
    """Headless runs never wait for input: a call that needs approval is refused with a clear message."""
    return Decision(False, f"{request.tool} needs approval and this run cannot ask; rerun with "
                           f"--approval {approval_allowing([request.tool])}", by_user=False)
