"""Which tool calls need the user's approval, and which shell commands are refused outright."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from agent.config import Approval

DANGEROUS_COMMANDS: list[tuple[str, re.Pattern[str]]] = [
    ("deletes the root, home or a top-level directory",
     re.compile(r"\brm\s+(-[a-zA-Z]*\s+)*(-[a-zA-Z]*[rR][a-zA-Z]*\s+)(-[a-zA-Z]*\s+)*"
                r"(/|/\*|~|~/|\$HOME|\$\{HOME\}|/[a-z]+/?)(\s|$|;|&|\|)")),
    ("force-pushes", re.compile(r"\bgit\s+push\b[^;&|]*(\s--force\b|\s-f\b|\s--force-with-lease\b|\s\+\S)")),
    ("pipes a download into a shell",
     re.compile(r"\b(curl|wget|fetch)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da|k)?sh\b|\b(ba)?sh\s+<\(\s*(curl|wget)")),
    ("formats or overwrites a disk", re.compile(r"\bmkfs(\.\w+)?\b|\bdd\b[^;&|]*\bof=/dev/")),
    ("is a fork bomb", re.compile(r":\(\)\s*\{\s*:\|:&\s*\};:")),
    ("runs as root through sudo", re.compile(r"(^|[;&|]\s*)sudo\b")),
    ("shuts the machine down", re.compile(r"\b(shutdown|reboot|halt|poweroff)\b")),
    ("changes permissions recursively from the root", re.compile(r"\bch(mod|own)\s+-R\s+\S+\s+/(\s|$)")),
]
_WRITE_TARGETS = re.compile(r"(?:>>?|\btee\s+(?:-a\s+)?)\s*([/~][^\s;&|)]*)")
_MOVE_COPY = re.compile(r"\b(?:cp|mv|rm|ln|install|rsync|touch|mkdir)\b([^;&|]*)")
_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr")
_SCRATCH = ("/tmp/", "/var/tmp/")


def _scratch(path: str, base: str) -> bool:
    """Device files, and scratch space unless the workspace itself lives there (then it holds user data)."""
    if path in _DEVICES:
        return True
    return path.startswith(_SCRATCH) and not (base + "/").startswith(_SCRATCH)


def dangerous_reason(command: str, root: Path, allowed: list[str]) -> str | None:
    """Why `command` is refused, or None. Patterns in `allowed` (from config) lift a refusal."""
    if any(re.search(pattern, command) for pattern in allowed):
        return None
    for reason, pattern in DANGEROUS_COMMANDS:
        if pattern.search(command):
            return reason
    outside = _outside_writes(command, root)
    if outside:
        return f"writes outside the workspace ({outside})"
    return None


def _outside_writes(command: str, root: Path) -> str | None:
    targets = _WRITE_TARGETS.findall(command)
    for args in _MOVE_COPY.findall(command):
        targets += [a for a in args.split() if a.startswith(("/", "~"))]
    base = str(root.resolve())
    for target in targets:
        home = target.startswith("~")
        path = target.replace("~", str(Path.home()), 1) if home else target
        if path == base or path.startswith(base + "/") or (not home and _scratch(path, base)):
            continue
        return target
    return None


@dataclass(frozen=True)
class ApprovalRequest:
    call_id: str
    tool: str
    summary: str
    command: str | None = None


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str = ""
    always: bool = False
    by_user: bool = True  # False when no one was asked (a headless run refuses on its own)


Approver = Callable[[ApprovalRequest], Awaitable[Decision]]


def needs_approval(policy: Approval, tool: str, mutates: bool, *, confined: bool = False) -> bool | None:
    """True: ask; False: go ahead; None: refused by the policy itself.

    `confined`: commands run in an OS sandbox, which in read-only mode makes the workspace read-only, so the
    shell can still read (grep, run the tests) without changing anything.
    """
    if not mutates or policy == "full-auto":
        return False
    if policy == "read-only":
        return False if (tool == "shell" and confined) else None
    if policy == "auto-edit":
        return tool == "shell"
    return True


def approval_allowing(tools: Iterable[str]) -> Approval:
    """The least permissive approval mode under which a headless run may call all of `tools` (mutating ones)."""
    modes: tuple[Approval, ...] = ("auto-edit", "full-auto")
    return next((m for m in modes if all(needs_approval(m, t, True) is False for t in tools)), "full-auto")


async def refuse_headless(request: ApprovalRequest) -> Decision:
    """Headless runs never wait for input: a call that needs approval is refused with a clear message."""
    return Decision(False, f"{request.tool} needs approval and this run cannot ask; rerun with "
                           f"--approval {approval_allowing([request.tool])}", by_user=False)
