"""Turning "this tree, minus these paths" into the flat path lists Landlock rules need.

Landlock only grants; a right given on a directory reaches everything beneath it. To keep `.git/` read-only
inside a writable workspace (or HOME's credential stores unreadable inside a readable /), the grant goes to
each sibling on the way down instead of to the parent.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox.landlock import Rules
from agent.sandbox.policy import SandboxPolicy

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
"""The only device files commands may open. /dev itself is not readable: no terminals (/dev/pts/*, /dev/tty*,
/dev/console), whose input another user's command could read; /dev/fd and /dev/std* are links into /proc."""


@dataclass(frozen=True)
class Carved:
    """A tree carved around exclusions: subtrees to grant, and the directories passed through on the way."""

    grant: list[Path]
    through: list[Path]


def carve(root: Path, excluded: list[Path]) -> Carved:
    """Subtrees covering `root` except the `excluded` paths beneath it (exclusions above `root` are ignored)."""
    grant: list[str] = []
    through: list[str] = []
    _carve(str(root), [str(e) for e in excluded], grant, through)  # strings: pathlib's parents cost ms per command
    return Carved([Path(p) for p in grant], [Path(p) for p in through])


def _carve(root: str, excluded: list[str], grant: list[str], through: list[str]) -> None:
    prefix = root if root.endswith("/") else root + "/"
    inside = [e for e in excluded if e.startswith(prefix) and e != root]
    if not inside:
        grant.append(root)
        return
    through.append(root)
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    hidden = set(inside)
    for entry in entries:
        path = entry.path
        if path in hidden:
            continue
        below = path + "/"
        if any(e.startswith(below) for e in inside) and entry.is_dir(follow_symlinks=False):
            _carve(path, inside, grant, through)
        else:
            grant.append(path)


def system_temp() -> Path:
    """The system temp dir as commands see it ($TMPDIR of Duet's own environment, read now, not cached)."""
    return Path(os.environ.get("TMPDIR") or tempfile.gettempdir()).resolve()


def writable_roots(policy: SandboxPolicy, private_tmp: Path) -> list[Path]:
    """Where sandboxed commands may write, before carving out the protected paths."""
    roots = [private_tmp]
    if policy.workspace_writable:
        roots.append(policy.workspace)
        for shared in (system_temp(), Path("/dev/shm")):  # /dev/shm: POSIX semaphores (multiprocessing)
            if shared.is_dir() and not _holds_private(shared, policy):
                roots.append(shared)
    return roots


def _holds_private(shared: Path, policy: SandboxPolicy) -> bool:
    """Does a shared temp dir contain the workspace or HOME? Then it is left out: carving them out of it would
    cost a rule per entry of the temp dir (thousands in a busy /tmp, tens of ms per command), and the private
    temp dir ($TMPDIR) is writable anyway."""
    inside = [policy.workspace, *([policy.home] if policy.home else [])]
    return any(shared == p or shared in p.parents for p in inside)


def rules_for(policy: SandboxPolicy, private_tmp: Path, connect_ports: tuple[int, ...] = (),
              secret_paths: tuple[Path, ...] = (), mount_protected: bool = False) -> Rules:
    """The Landlock rules of `policy` (`connect_ports`: TCP ports reachable even with the network off).

    `mount_protected`: `.git/` and `.duet/` are read-only bind mounts in the child and `secret_paths` covered
    by mounts too (see mountns), so the whole workspace is granted, root included, instead of its entries one
    by one."""
    if mount_protected:
        secret_paths = ()
    # The directories on the way to a hidden path get no right at all: Landlock rights reach everything beneath
    # a rule, so READ_DIR on / or HOME would let `ls ~/.ssh` list the keys' names. `ls /` and `ls ~` are refused.
    hidden = [p for p in (*policy.hidden(), *secret_paths) if os.path.lexists(p)]
    if private_tmp.parent.name == "runs":
        hidden.append(private_tmp.parent)  # other runs' private temp dirs (see tempdir)
    readable = carve(Path("/"), [*hidden, Path("/dev")])
    # HOME is hidden whole; its toolchain dirs and the workspace in it are granted back, minus what is hidden.
    for allowed in (*policy.home_allowed(), *([policy.workspace] if policy.home_hidden() else [])):
        readable.grant.extend(carve(allowed, hidden).grant)
    devices = [Path(d) for d in DEVICES if os.path.exists(d)]
    excluded = [] if mount_protected else [*policy.protected(), *secret_paths]
    # What is hidden is never writable either, even where it lies inside a writable root (HOME as the workspace:
    # `agent -C ~`, or HOME a dotfiles repository, with Duet's config, state and caches and the credential
    # stores inside it). Elsewhere these lie outside every writable root and carving them costs nothing.
    excluded += hidden
    home = policy.home
    if home is not None and home != Path("/") and home not in policy.workspace.parents and home != policy.workspace:
        excluded.append(home)  # a HOME inside the temp dir stays read-only too
    write: list[Path] = []
    for root in writable_roots(policy, private_tmp):
        write += carve(root, excluded).grant
    shm = [Path("/dev/shm")] if Path("/dev/shm").is_dir() else []
    return Rules(read=(*readable.grant, *devices, *shm), write=tuple(write), file_write=tuple(devices),
                 network=policy.network, connect_ports=connect_ports, listable=(Path("/dev"),))
