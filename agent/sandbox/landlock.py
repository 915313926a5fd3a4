"""Landlock through raw syscalls (ctypes): the ABI in force, and rulesets built in the parent.

Everything that can allocate or fail slowly (ctypes lookups, structs, opening paths, adding rules) happens in
the parent; the child, between fork and exec, only makes three syscalls (see `ChildHook`). That matters in a
process with threads, where running Python after fork is only safe if it does next to nothing.
"""

from __future__ import annotations

import ctypes
import functools
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox.mountns import MountSteps
from agent.sandbox.pidns import load_libc
from agent.sandbox.seccomp import Filter

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
CAP_VERSION_3 = 0x20080522

# Filesystem rights and the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, ABI 3, ABI 5
BIND_TCP, CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a non-directory rule carries


def fs_rights(abi: int) -> int:
    """Every filesystem right this ABI can restrict. Device ioctls (ABI 5) are handled and granted nowhere: a
    command has no business sending TIOCSTI or reading a terminal's settings."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


_libc = load_libc


def _syscall() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    fn = _libc().syscall
    fn.restype = ctypes.c_long
    return fn


def abi_version() -> int:
    """The Landlock ABI of the running kernel; 0 when Landlock is missing or disabled."""
    try:
        version = _syscall()(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                             ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


@dataclass(frozen=True)
class Rules:
    """What a ruleset allows: rights per path, and TCP ports that may be connected to."""

    read: tuple[Path, ...]
    write: tuple[Path, ...]
    file_write: tuple[Path, ...]
    """Single files that may be written in place (not created or removed): workspace top-level files, /dev/null."""
    network: bool
    connect_ports: tuple[int, ...] = ()
    listable: tuple[Path, ...] = ()
    """Directories on the way to a hidden path: their entries may be listed, not read."""


def build_ruleset(rules: Rules, abi: int) -> int:
    """A Landlock ruleset fd (close-on-exec) for `rules`, adapted to the kernel's ABI. Raises OSError."""
    call = _syscall()
    handled_fs = fs_rights(abi)
    net = abi >= 4 and not rules.network
    attr = _RulesetAttr(handled_fs, (BIND_TCP | CONNECT_TCP) if net else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_SIGNAL | (0 if rules.network else SCOPE_ABSTRACT_UNIX)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = call(ctypes.c_long(SYS_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise _error("landlock_create_ruleset")
    try:
        _add_paths(call, fd, rules.read, READ & handled_fs)
        _add_paths(call, fd, rules.listable, READ_DIR)
        _add_paths(call, fd, rules.write, handled_fs)
        _add_paths(call, fd, rules.file_write, (READ_FILE | WRITE_FILE | TRUNCATE) & handled_fs)
        if net:
            for port in rules.connect_ports:
                port_attr = _NetPortAttr(CONNECT_TCP, port)
                if call(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(fd), ctypes.c_int(RULE_NET_PORT),
                        ctypes.byref(port_attr), ctypes.c_uint32(0)) < 0:
                    raise _error("landlock_add_rule (port)")
    except BaseException:
        os.close(fd)
        raise
    return int(fd)


def _add_paths(call: ctypes._CFuncPtr, ruleset: int, paths: Iterable[Path], rights: int) -> None:  # type: ignore[name-defined]
    for path in paths:
        try:
            # O_NOFOLLOW: a symlink in the workspace pointing at / must not make / writable.
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue  # vanished since it was listed
        try:
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)  # O_PATH|O_NOFOLLOW on a link: the link, not a dir
            allowed = rights if is_dir else rights & FILE_RIGHTS
            attr = _PathBeneathAttr(allowed, fd)
            if allowed and call(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                                ctypes.byref(attr), ctypes.c_uint32(0)) < 0:
                raise _error(f"landlock_add_rule ({path})")
        finally:
            os.close(fd)


def _error(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


class ChildHook:
    """The `preexec_fn` of a sandboxed child: no new privileges, die with Duet, no capabilities, enter the
    ruleset, install the seccomp filter.

    Built in the parent with every ctypes object resolved, so the child only makes syscalls through libc.
    """

    def __init__(self, ruleset_fd: int | None, *, no_new_privs: bool = True, seccomp: Filter | None = None,
                 drop_caps: bool = False, mounts: MountSteps | None = None) -> None:
        libc = _libc()
        self._prctl = libc.prctl
        self._capset = libc.capset
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long
        self._fd = ctypes.c_int(ruleset_fd if ruleset_fd is not None else -1)
        self._restrict = ctypes.c_long(SYS_RESTRICT_SELF)
        self._zero = ctypes.c_uint32(0)
        self._args = (ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0))
        self._death = (ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(9), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))
        self._landlock = ruleset_fd is not None
        self._seccomp = seccomp
        self._nnp = no_new_privs or self._landlock or seccomp is not None
        # Root (or a process with capabilities) would keep them in the sandbox: CAP_SYS_ADMIN for TIOCSTI,
        # CAP_NET_RAW, CAP_SYS_PTRACE for other processes' /proc/PID/environ. Dropped before exec.
        self._caps = drop_caps and _has_capabilities()
        # A private mount namespace (read-only .git/.duet) needs CAP_SYS_ADMIN there: entered before the drop,
        # which then also removes the capabilities a new user namespace gave the child.
        self._mounts = mounts
        self._caps = self._caps or mounts is not None
        # A private /proc is a new mount the parent's rules cannot name (rules on the /proc it covers no longer
        # apply): the child grants it read access itself, once mounted, before restricting itself.
        self._proc = mounts is not None and mounts.private_proc and self._landlock
        self._proc_path = ctypes.c_char_p(b"/proc")
        self._opath = ctypes.c_int(os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self._proc_rule = _PathBeneathAttr(READ, -1)
        self._rule_args = (ctypes.c_long(SYS_ADD_RULE), self._fd, ctypes.c_int(RULE_PATH_BENEATH),
                           ctypes.byref(self._proc_rule), self._zero)
        self._open, self._close = libc.open, libc.close
        self._bounding = _bounding_args()
        self._ambient = (ctypes.c_int(PR_CAP_AMBIENT), ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), ctypes.c_ulong(0),
                         ctypes.c_ulong(0), ctypes.c_ulong(0))
        self._cap_header = _CapHeader(CAP_VERSION_3, 0)
        self._cap_data = (_CapData * 2)()

    def __call__(self) -> None:
        self._prctl(*self._death)
        if self._nnp and self._prctl(*self._args) != 0:
            raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed")
        if self._mounts is not None:
            self._mounts.enter()
        if self._proc:
            fd = self._open(self._proc_path, self._opath)
            self._proc_rule.parent_fd = fd
            if fd < 0 or self._syscall(*self._rule_args) != 0:
                raise OSError("granting the private /proc failed")
            self._close(fd)
        if self._caps:
            for args in self._bounding:
                self._prctl(*args)  # needs CAP_SETPCAP; with no_new_privs the empty set below is enough anyway
            self._prctl(*self._ambient)
            if self._capset(ctypes.byref(self._cap_header), self._cap_data) != 0:
                raise OSError("capset failed")
        if self._landlock and self._syscall(self._restrict, self._fd, self._zero) != 0:
            raise OSError("landlock_restrict_self failed")  # never run unconfined by accident
        if self._seccomp is not None and self._prctl(*self._seccomp.args) != 0:
            raise OSError("prctl(PR_SET_SECCOMP) failed")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _has_capabilities() -> bool:
    """Root, or any permitted capability: something to drop."""
    if os.geteuid() == 0:
        return True
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return True
    return any(line.startswith("CapPrm:") and int(line.split()[1], 16) != 0 for line in status.splitlines())


@functools.cache
def _bounding_args() -> tuple[tuple[ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong], ...]:
    """prctl(PR_CAPBSET_DROP, cap) for every capability: constant, built once."""
    return tuple((ctypes.c_int(PR_CAPBSET_DROP), ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0),
                  ctypes.c_ulong(0)) for cap in range(_last_cap() + 1))


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 40


def set_child_subreaper() -> bool:
    """Make orphaned descendants (daemons that called setsid) our children, so they can be found and reaped."""
    return _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
