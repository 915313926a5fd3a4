"""A seccomp-bpf filter that keeps commands off the kernel keyrings always, and off the network where Landlock
cannot: UDP, MPTCP, raw and packet sockets, netlink and every other address family, and io_uring (whose
IORING_OP_SOCKET would bypass the filter).

The keyrings (`keyctl`, `add_key`, `request_key`) hold the user's session and user keys (Kerberos tickets,
ecryptfs, fscrypt, the keys of other programs): a sandboxed command never needs them, network or not.

Landlock (ABI 4+) restricts only TCP bind/connect, so with the network off a command could still send DNS
queries over UDP, connect over MPTCP (which reaches plain TCP listeners), or, as root, use raw sockets. The
filter lets `socket()` create only AF_UNIX sockets and plain TCP sockets (SOCK_STREAM with protocol 0 or
IPPROTO_TCP; Landlock then refuses their connect/bind), and refuses everything else with EACCES.
`socketpair()` is left alone (asyncio and multiprocessing need it; it only makes AF_UNIX pairs).

Hand-built BPF rather than libseccomp (pyseccomp and friends): libseccomp is a system library a clean machine
may lack, and the program is 30 instructions. It is assembled here, in the parent, as bytes; the child only
calls prctl(PR_SET_SECCOMP) with a pointer to it (see landlock.ChildHook).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_ABS, JEQ, JGE, AND, RET = 0x20, 0x15, 0x35, 0x54, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JGE|K, ALU|AND|K, RET|K
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC = 1, 0o4000, 0o2000000
IPPROTO_TCP = 6
IO_URING_SETUP = 425  # the same number on every architecture
X32_BIT = 0x40000000


@dataclass(frozen=True)
class _Arch:
    audit: int
    socket: int
    keyring: tuple[int, ...]
    """add_key, request_key, keyctl."""
    compat_audit: int | None = None
    compat_socket: tuple[int, ...] = ()
    """The 32-bit ABI the kernel also runs: its socket() and socketcall() numbers."""
    compat_keyring: tuple[int, ...] = ()
    x32: bool = False


ARCHES = {
    "x86_64": _Arch(0xC000003E, 41, (248, 249, 250), compat_audit=0x40000003, compat_socket=(359, 102),
                    compat_keyring=(286, 287, 288), x32=True),
    "aarch64": _Arch(0xC00000B7, 198, (217, 218, 219), compat_audit=0x40000028, compat_socket=(281,),
                     compat_keyring=(309, 310, 311)),
}


class _Asm:
    """A tiny BPF assembler with forward labels (BPF jumps only go forward)."""

    def __init__(self) -> None:
        self.code: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def op(self, code: int, k: int, jt: str | int = 0, jf: str | int = 0) -> None:
        self.code.append((code, jt, jf, k & 0xFFFFFFFF))

    def assemble(self) -> bytes:
        out = b""
        for i, (code, jt, jf, k) in enumerate(self.code):
            jumps = [self.labels[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf)]
            out += struct.pack("=HBBI", code, jumps[0], jumps[1], k)
        return out


def _arg(index: int) -> int:
    """Offset of the low 32 bits of syscall argument `index` in struct seccomp_data."""
    return 16 + 8 * index + (4 if sys.byteorder == "big" else 0)


def command_program(arch: _Arch, *, network: bool) -> bytes:
    """The BPF program (struct sock_filter[]) for a sandboxed command: no keyrings; without `network`, no
    sockets but AF_UNIX and plain TCP (which Landlock then confines), no io_uring."""
    deny = RET_ERRNO | errno.EACCES
    a = _Asm()
    a.op(LD_ABS, 4)  # seccomp_data.arch
    a.op(JEQ, arch.audit, 0, "foreign")
    a.op(LD_ABS, 0)  # seccomp_data.nr
    if arch.x32:
        a.op(JGE, X32_BIT, "deny", 0)  # the x32 ABI: same arch value, other numbers; nothing needs it here
    for number in arch.keyring:
        a.op(JEQ, number, "deny", 0)
    if not network:
        a.op(JEQ, arch.socket, "socket", 0)
        a.op(JEQ, IO_URING_SETUP, "deny", 0)
    a.op(RET, RET_ALLOW)
    if not network:
        a.label("socket")
        a.op(LD_ABS, _arg(0))
        a.op(JEQ, AF_UNIX, "allow", 0)
        a.op(JEQ, AF_INET, "inet", 0)
        a.op(JEQ, AF_INET6, "inet", "deny")
        a.label("inet")
        a.op(LD_ABS, _arg(1))
        a.op(AND, ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        a.op(JEQ, SOCK_STREAM, 0, "deny")
        a.op(LD_ABS, _arg(2))
        a.op(JEQ, 0, "allow", 0)
        a.op(JEQ, IPPROTO_TCP, "allow", "deny")
    a.label("foreign")  # a 32-bit program: no keyrings; no socket() or socketcall() at all, no io_uring
    if arch.compat_audit is not None:
        a.op(JEQ, arch.compat_audit, 0, "deny")
        a.op(LD_ABS, 0)
        for number in (*arch.compat_keyring, *(() if network else (*arch.compat_socket, IO_URING_SETUP))):
            a.op(JEQ, number, "deny", 0)
        a.op(RET, RET_ALLOW)
    a.label("deny")
    a.op(RET, deny)
    a.label("allow")
    a.op(RET, RET_ALLOW)
    return a.assemble()


@cache
def unavailable_reason() -> str:
    """Why no filter can be installed here, or '' when it can."""
    if platform.machine() not in ARCHES:
        return f"no seccomp filter for {platform.machine()}"
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return "cannot read /proc/self/status"
    if "\nSeccomp:" not in status:
        return "this kernel has no seccomp"
    return ""


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """A BPF program held in memory the child can hand to prctl without allocating anything."""

    def __init__(self, program: bytes) -> None:
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self.prog = _SockFprog(len(program) // 8, ctypes.addressof(self._buffer))
        self.args = (ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(self.prog),
                     ctypes.c_ulong(0), ctypes.c_ulong(0))


@cache
def command_program_bytes(network: bool) -> bytes | None:
    """The program for this machine (for bwrap's --seccomp), or None (see `unavailable_reason`)."""
    return None if unavailable_reason() else command_program(ARCHES[platform.machine()], network=network)


@cache
def command_filter(network: bool) -> Filter | None:
    """The filter for sandboxed commands on this machine, or None (see `unavailable_reason`)."""
    if unavailable_reason():
        return None
    return Filter(command_program(ARCHES[platform.machine()], network=network))
