"""A private mount namespace in which `.git/` and `.duet/` are read-only bind mounts.

Landlock can only grant rights, so without this the workspace root itself cannot be writable (a right on the
root reaches `.git/`). In a private mount namespace the protected directories are bind-mounted onto themselves
read-only; Landlock can then grant the whole workspace, and creating, deleting or renaming top-level entries
works while `.git/` and `.duet/` give EROFS (and EBUSY to rename or remove the mount points).

As root the child only needs unshare(CLONE_NEWNS); otherwise it enters a user namespace too, mapping only its
own uid and gid. Whether that works here (unprivileged user namespaces are often disabled or restricted by
AppArmor) is probed once, by a test child doing exactly what a command's child does, and cached.

Everything is prepared in the parent (`MountSteps`); the child (`MountSteps.enter`, called from
`landlock.ChildHook` before capabilities are dropped and before Landlock and seccomp) only makes syscalls.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox.pidns import CLONE_NEWPID, NamespaceSplit, load_libc

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
# statvfs flag -> mount flag for the flags a remount must keep (in a user namespace they are locked: dropping
# one, e.g. nosuid of a /tmp mount, makes the remount fail with EPERM).
_KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
               (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME))
O_WRONLY_CLOEXEC = os.O_WRONLY | os.O_CLOEXEC


def _kept_flags(path: Path) -> int:
    try:
        flags = os.statvfs(path).f_flag
    except OSError:
        return 0
    return functools.reduce(lambda acc, pair: acc | (pair[1] if flags & pair[0] else 0), _KEPT_FLAGS, 0)


class MountSteps:
    """The syscalls that give a child its private mount namespace with `protect` read-only, prepared here.

    `hide`: secret files (covered by `blank`, an empty file of mode 000) and directories (by an empty read-only
    tmpfs of mode 000): with no capabilities left, opening them gives EACCES, and Landlock need not carve them
    out of the workspace grant. `cwd` is entered again afterwards: the
    child chdir()ed before its hook ran, so a cwd beneath a protected directory would otherwise still point
    into the writable mount underneath.
    """

    def __init__(self, protect: Sequence[Path], cwd: Path | None = None, hide: Sequence[Path] = (),
                 blank: Blank | None = None, pid: NamespaceSplit | None = None, born_init: bool = False) -> None:
        libc = load_libc()
        self._unshare, self._mount, self._chdir = libc.unshare, libc.mount, libc.chdir
        self._open, self._write, self._close = libc.open, libc.write, libc.close
        for fn in (self._unshare, self._mount, self._chdir, self._open, self._write, self._close):
            fn.restype = ctypes.c_int  # write returns ssize_t, but a few bytes fit
        root = os.geteuid() == 0
        flags = CLONE_NEWNS if root else CLONE_NEWNS | CLONE_NEWUSER
        # born_init: the child is PID 1 of its namespace already (agent.sandbox.initproc): no split needed.
        self._flags = ctypes.c_int(flags | (CLONE_NEWPID if pid is not None and not born_init else 0))
        self._pid = pid
        self._split = pid is not None and not born_init
        self.private_proc = pid is not None
        """Does `enter` mount a /proc of the command's own (see pidns)?"""
        # (path, contents) written after unshare in a user namespace: map only our own uid and gid.
        maps = [] if root else [(b"/proc/self/setgroups", b"deny"),
                                (b"/proc/self/uid_map", f"{os.geteuid()} {os.geteuid()} 1".encode()),
                                (b"/proc/self/gid_map", f"{os.getegid()} {os.getegid()} 1".encode())]
        self._maps = tuple((ctypes.c_char_p(p), ctypes.c_char_p(c), ctypes.c_size_t(len(c))) for p, c in maps)
        self._wronly = ctypes.c_int(O_WRONLY_CLOEXEC)
        self._slash = ctypes.c_char_p(b"/")
        self._null = ctypes.c_char_p(None)
        self._private = ctypes.c_ulong(MS_REC | MS_PRIVATE)
        self._binds = tuple((ctypes.c_char_p(os.fsencode(p)), ctypes.c_ulong(MS_BIND | MS_REC),
                             ctypes.c_ulong(MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(p))) for p in protect)
        self._cwd = ctypes.c_char_p(os.fsencode(cwd)) if cwd is not None else None
        if hide and blank is None:
            raise ValueError("hiding files needs a blank file")
        # The blank is opened in the child without following links and checked to be the very inode Duet made
        # (mount(2) itself would follow a link planted in its place), then bound from its fd.
        self._blank = blank
        self._blank_path = ctypes.c_char_p(os.fsencode(blank.path) if blank is not None else None)
        self._opath = ctypes.c_int(os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        self._tmpfs = ctypes.c_char_p(b"tmpfs")
        self._tmpfs_data = ctypes.c_char_p(b"mode=000,size=4k")
        self._tmpfs_flags = ctypes.c_ulong(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        kept = _kept_flags(blank.path) if blank is not None else 0
        self._hide = tuple((ctypes.c_char_p(os.fsencode(p)), p.is_dir(),
                            ctypes.c_ulong(MS_REMOUNT | MS_BIND | MS_RDONLY | kept)) for p in hide)
        self._plain_bind = ctypes.c_ulong(MS_BIND)

    def enter(self) -> None:
        """In the child: unshare, map ids, make mounts private, bind and remount read-only. Raises OSError.
        With a PID namespace the child forks here and only the namespace's init returns (see pidns)."""
        if self._unshare(self._flags) != 0:
            raise OSError("unshare(mount namespace) failed")
        for path, contents, size in self._maps:
            fd = self._open(path, self._wronly)
            if fd < 0:
                raise OSError("open(/proc/self/*_map) failed")
            written = self._write(fd, contents, size)
            self._close(fd)
            if written != size.value:
                raise OSError("writing /proc/self/*_map failed")
        if self._pid is not None and self._split:
            self._pid.split()
        if self._mount(self._null, self._slash, self._null, self._private, self._null) != 0:
            raise OSError("mount(/, MS_PRIVATE) failed")
        for path, bind, remount in self._binds:
            if self._mount(path, path, self._null, bind, self._null) != 0:
                raise OSError("bind mount of a protected path failed")
            if self._mount(path, path, self._null, remount, self._null) != 0:
                raise OSError("read-only remount of a protected path failed")
        blank = -1
        for path, is_dir, remount in self._hide:
            if is_dir:
                if self._mount(self._tmpfs, path, self._tmpfs, self._tmpfs_flags, self._tmpfs_data) != 0:
                    raise OSError("hiding a secret directory failed")
                continue
            if blank < 0:
                blank = self._open(self._blank_path, self._opath)
                if blank < 0 or self._blank is None or not self._blank.same(os.fstat(blank)):
                    raise OSError("the blank file is not the one Duet made")
            source = ctypes.c_char_p(b"/proc/self/fd/%d" % blank)
            if (self._mount(source, path, self._null, self._plain_bind, self._null) != 0
                    or self._mount(path, path, self._null, remount, self._null) != 0):
                raise OSError("hiding a secret file failed")
        if blank >= 0:
            self._close(blank)
        if self._pid is not None:
            self._pid.private_proc()
        if self._cwd is not None and self._chdir(self._cwd) != 0:
            raise OSError("chdir after mounting failed")


@dataclass(frozen=True)
class Blank:
    """The empty file of mode 000 that secret files are covered with: where, and which inode it must be."""

    path: Path
    dev: int
    ino: int

    def same(self, st: os.stat_result) -> bool:
        return (st.st_dev, st.st_ino) == (self.dev, self.ino) and stat.S_ISREG(st.st_mode) and st.st_size == 0 \
            and stat.S_IMODE(st.st_mode) == 0


def make_blank(directory: Path) -> Blank:
    """The blank file `directory/blank`, made if missing or not as it must be. `directory` must be one that
    commands can neither write nor read (Duet's own cache dir, hidden by the sandbox). Raises OSError."""
    path = directory / "blank"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0)
        except OSError:  # a link, a fifo...: replaced below
            fd = -1
        try:
            if fd >= 0:
                st = os.fstat(fd)
                blank = Blank(path, st.st_dev, st.st_ino)
                if blank.same(st) and st.st_uid == os.geteuid():
                    return blank
        finally:
            if fd >= 0:
                os.close(fd)
        path.unlink(missing_ok=True)
    raise OSError(f"cannot make a blank file in {directory}")


STALE_S = 24 * 3600


def clean_stale_blanks(temp: Path) -> int:
    """Remove the `duet-blank-*` and `duet-mountns-*` dirs that killed runs (and Duet versions that kept the blank
    in the system temp dir) left there: only ours, only real directories, only those untouched for a day (a
    running Duet without a cache dir may be using one). Returns how many."""
    removed = 0
    try:
        entries = list(os.scandir(temp))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(("duet-blank-", "duet-mountns-")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or time.time() - st.st_mtime < STALE_S:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


@functools.cache
def available(pid: bool = False) -> str:
    """'' when a child can get a mount namespace with read-only binds here (`pid`: and a PID namespace with its
    own /proc and process limit), else why not. Probed once each."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    probe = Path(tempfile.mkdtemp(prefix="duet-mountns-"))
    try:
        for name in ("ro", "hidden"):
            (probe / name).mkdir()
        (probe / "secret").write_text("s")
        steps = MountSteps([probe / "ro"], hide=[probe / "hidden", probe / "secret"], blank=make_blank(probe),
                           pid=NamespaceSplit() if pid else None)
        # The test child must see EROFS in the read-only bind, nothing of the hidden paths, and be able to
        # create a file next to them; with a PID namespace, be its PID 1 and see only itself in /proc.
        code = ("import os,sys\nd=sys.argv[1]\ntry: s=open(d+'/secret').read()\nexcept PermissionError: s=''\n"
                "if s: sys.exit(5)\n"
                "if sys.argv[2]=='1' and (os.getpid()!=1 or sorted(p for p in os.listdir('/proc') if p.isdigit())"
                "!=['1']): sys.exit(6)\n"
                "try: open(d+'/ro/x','w')\nexcept OSError as e: "
                "sys.exit(0 if e.errno==30 and open(d+'/ok','w') else 3)\nsys.exit(4)")
        try:
            done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(probe), "1" if pid else "0"],
                                  preexec_fn=steps.enter, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            what = "PID namespace" if pid else "private mount namespace"
            return f"no {what} for commands here" + ("" if os.geteuid() == 0 else
                                                     " (unprivileged user namespaces disabled?)")
        if done.returncode == 0:
            return ""
        return f"{'PID namespace' if pid else 'read-only bind mounts'} not effective (probe exit {done.returncode})"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
