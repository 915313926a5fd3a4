"""Which tool calls need the user's approval, and which shell commands are refused outright."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.config import Approval
from agent.denylist import dangerous_reason
from tools.base import Preview
from tools.effects import Effect, Exec, External, Read, Write

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
    preview: Preview | None = None
    """The tool's own dry run of the call (tools.base.Preview): for an edit, the diff of exactly the bytes it
    will write."""
    effect: Effect = field(default_factory=Write)
    """What the call does (tools.effects): what a rule or a headless refusal decides from."""


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str = ""
    always: AlwaysRule | None = None
    """What the user said to allow from now on without asking (agent.approval_rules), if anything."""
    by_user: bool = True  # False when no one was asked (a headless run refuses on its own)


Approver = Callable[[ApprovalRequest], Awaitable[Decision]]


def needs_approval(policy: Approval, effect: Effect, *, confined: bool = False,
                   preapproved: bool = False) -> bool | None:
    """True: ask; False: go ahead; None: refused by the policy itself. Decided from the call's effect alone.

    `confined`: commands run in an OS sandbox, which in read-only mode makes the workspace read-only, so a
    command can still read (grep, run the tests) without changing anything. External calls (MCP tools) follow
    the commands' rules (their effects are unknown and outside the sandbox), but never run in read-only mode;
    `preapproved`: the config lets this one run without asking.
    """
    if isinstance(effect, Read) or policy == "full-auto":
        return False
    if policy == "read-only":
        return False if (isinstance(effect, Exec) and confined) else None
    if preapproved:
        return False
    if policy == "auto-edit":
        return isinstance(effect, Exec | External)
    return True


def approval_allowing(effects: Iterable[Effect]) -> Approval:
    """The least permissive approval mode under which a headless run may make all of `effects`."""
    modes: tuple[Approval, ...] = ("auto-edit", "full-auto")
    wanted = list(effects)
    return next((m for m in modes if all(needs_approval(m, e) is False for e in wanted)), "full-auto")


async def refuse_headless(request: ApprovalRequest) -> Decision:
    """Headless runs never wait for input: a call that needs approval is refused with a clear message."""
    return Decision(False, f"{request.tool} needs approval and this run cannot ask; rerun with "
                           f"--approval {approval_allowing([request.effect])}", by_user=False)
