"""The sandboxing launcher handed to tools: picks the mechanism, starts confined processes, reaps them."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import prompts
from agent.redact.values import secret_file_paths
from agent.sandbox import initproc, landlock, mountns
from agent.sandbox.bwrap import bwrap_argv, bwrap_path
from agent.sandbox.env import sandbox_env
from agent.sandbox.nested_git import nested_git
from agent.sandbox.notes import blocked_note
from agent.sandbox.paths import rules_for, system_temp, writable_roots
from agent.sandbox.pidns import (
    PROCESS_LIMIT,
    NamespaceSplit,
    hold_namespaces,
    process_limit_available,
    release_namespaces,
)
from agent.sandbox.policy import Mechanism, SandboxInfo, SandboxPolicy
from agent.sandbox.reap import kill_namespace, reap, wait_for_zombie
from agent.sandbox.seccomp import command_filter, command_program_bytes, unavailable_reason
from agent.sandbox.tempdir import make_private_tmp
from agent.transcript import DUET_DIR
from tools.binaries import find_binary
from tools.spawn import CommandProcess

INIT_SCRIPT = '"$@"; exit $?'
"""PID 1 of a command's namespace: `sh`, which runs the command as a foreground child (PID 2) and waits for it.
The kernel drops signals a namespace's init sends itself without a handler (`kill -TERM $$` would do nothing,
even `kill -9 $$`), and orphans are reparented to the init (the shell reaps them while it waits): so the
command is never the init. `; exit $?` keeps the shell from exec'ing the command in its place, and a foreground
child keeps SIGINT and SIGQUIT (a background one would ignore them). When the command ends, the shell exits
with its status (128 + N for a signal) and the kernel kills whatever else is left in the namespace."""


def init_wrapped(argv: Sequence[str], cwd: Path) -> list[str]:
    """`argv` run under the namespace's init (`sh`, resolved where no command can plant one)."""
    sh = find_binary("sh", cwd) or "/bin/sh"
    return [sh, "-c", INIT_SCRIPT, "duet-init", *argv]


def choose_mechanism(policy: SandboxPolicy) -> tuple[Mechanism, str, int]:
    """(mechanism, detail for people, Landlock ABI) for `policy` on this machine."""
    if not policy.enabled:
        return "off", "turned off by the user", 0
    abi = landlock.abi_version() if policy.mechanism in ("auto", "landlock") else 0
    if abi >= 1:
        detail = f"Landlock ABI {abi}"
        if not policy.network and (why := unavailable_reason()):
            detail += f" ({why}: only TCP is kept off the network)"
        return "landlock", detail + _pid_ns_detail(), abi
    if policy.mechanism in ("auto", "bwrap") and bwrap_path():
        return "bwrap", "bubblewrap (PID namespace; no process limit)", 0
    missing = "no Landlock in this kernel" if policy.mechanism != "bwrap" else "bwrap not usable"
    if policy.mechanism == "auto":
        missing = "no Landlock in this kernel and no usable bwrap"
    return "none", missing, 0


def _pid_ns_detail() -> str:
    """How a command's processes are contained, for the detail (system prompt, `agent doctor`). No cgroup is used:
    where cgroup v2 is not delegated to us (cgroup v1 or hybrid hierarchies) a PID namespace is the portable way,
    and memory is left unlimited (RLIMIT_AS breaks JVMs, Go and sanitizers)."""
    if why := mountns.available(pid=True):
        return f", no PID namespace ({why}): the reaper chases a command's processes"
    limit = f"at most {PROCESS_LIMIT} processes" if process_limit_available() else "no process limit before Linux 6.14"
    return f" + PID namespace (private /proc, {limit})"


class SandboxLauncher:
    """Starts every process Duet runs for the model inside the run's sandbox. One per session."""

    def __init__(self, policy: SandboxPolicy, environ: Mapping[str, str] | None = None) -> None:
        self.policy = policy
        self.mechanism, self.detail, self._abi = choose_mechanism(policy)
        self._environ = environ  # None: the live environment at each start
        self.private_tmp = make_private_tmp(os.environ if environ is None else environ)
        self._markers: dict[int, str] = {}
        self._ns_fds: dict[int, list[int]] = {}  # the namespaces of running commands, held (see hold_namespaces)
        landlock.set_child_subreaper()  # daemons that setsid away come back to us as orphans
        files = policy.secret_files
        # The workspace's secret files as they are at the start: commands cannot read them (see README, Safety).
        self._secret_paths = secret_file_paths(policy.workspace, files) if files is not None else ()
        mountns.clean_stale_blanks(system_temp())
        self._blank: mountns.Blank | None = None  # what secret files are covered with in the mount namespace
        self._blank_dir: Path | None = None  # a dir of our own for it, when there is no private cache dir
        self.pid_ns = self._use_pid_ns()
        self.mount_ns = self._use_mount_ns()
        self._nested_git = nested_git(policy.workspace) | self._root_git() if self.policy.workspace_writable \
            else frozenset()

    def _root_git(self) -> frozenset[str]:
        """With a writable root, a command can make `.git` where there was none (nothing to bind-mount then)."""
        return frozenset({".git"}) if self.mount_ns and os.path.lexists(self.policy.workspace / ".git") \
            else frozenset()

    def _use_pid_ns(self) -> bool:
        """A PID namespace per command (killed whole, a private /proc, a process limit)? Says so in `detail`."""
        if self.mechanism != "landlock":
            return False
        return not mountns.available(pid=True)  # `detail` says which (see _pid_ns_detail)

    def _use_mount_ns(self) -> bool:
        """Protect .git/.duet by read-only mounts (the workspace root then writable)? Says which in `detail`."""
        if self.mechanism != "landlock" or not self.policy.workspace_writable:
            return False
        # Kept short: the detail is in the system prompt. `agent doctor` says why there is none.
        if not self.pid_ns and mountns.available():
            self.detail += ", no mount namespace"
            return False
        self.detail += " + mount namespace"  # .git/.duet read-only mounts, the workspace root writable
        return True

    def _mount_steps(self, cwd: Path, *, born_init: bool = False) -> mountns.MountSteps | None:
        """The child's namespace steps: .duet/ made first (0700) so it can be protected; only what exists."""
        pid = NamespaceSplit() if self.pid_ns else None
        if not self.mount_ns and pid is None:
            return None
        protect: list[Path] = []
        if self.mount_ns:  # read-only mode needs no protected mounts: the workspace is read-only already
            duet = self.policy.workspace / DUET_DIR
            if not os.path.lexists(duet):
                duet.mkdir(mode=0o700)
            protect = [Path(os.path.realpath(p)) for p in self.policy.protected() if os.path.lexists(p)]
        # Secret files are covered by mounts whenever there is a mount namespace: the workspace root stays
        # listable (Landlock would have to withhold READ_DIR on every directory on the way to one).
        hide = [Path(os.path.realpath(p)) for p in self._secret_paths if os.path.lexists(p)]
        if hide:  # made again if anything replaced it since (the child checks it is still the same inode)
            self._blank = mountns.make_blank(self._blank_home())
        return mountns.MountSteps(list(dict.fromkeys(protect)), cwd, hide=list(dict.fromkeys(hide)),
                                  blank=self._blank, pid=pid, born_init=born_init)

    def _blank_home(self) -> Path:
        """Where the blank lives: the private temp dirs' parent, which no command can write or read (see
        tempdir); else a 0700 dir of ours in the system temp dir, removed at close."""
        if self.private_tmp.parent.name == "runs":
            return self.private_tmp.parent
        if self._blank_dir is None:
            self._blank_dir = Path(tempfile.mkdtemp(prefix="duet-blank-"))
        return self._blank_dir

    @property
    def confines(self) -> bool:
        return self.mechanism in ("landlock", "bwrap")

    @property
    def network(self) -> bool:
        return self.policy.network

    @property
    def scratch(self) -> Path:
        return self.private_tmp

    def info(self) -> SandboxInfo:
        """What this launcher enforces, for prompts, doctor and the start-of-run line."""
        writable = ["the private temp dir ($TMPDIR)"]  # its path is long and machine-specific; $TMPDIR says it
        if self.policy.workspace_writable:
            shared = [f"the system temp dir {root}" for root in writable_roots(self.policy, self.private_tmp)
                      if root == system_temp()]
            writable = [f"the workspace {self.policy.workspace}", *writable, *shared]
        return SandboxInfo(mechanism=self.mechanism, detail=self.detail, writable=tuple(writable) if self.confines
                           else (), protected=(".git/", ".duet/"), network=self.policy.network,
                           root_writable=self.mount_ns or self.mechanism == "bwrap")

    async def start(self, argv: Sequence[str], *, cwd: Path, stdout: int, stderr: int,
                    connect_ports: tuple[int, ...] = ()) -> CommandProcess:
        marker = secrets.token_hex(8)
        environ = os.environ if self._environ is None else self._environ
        env = sandbox_env(environ, self.policy.env_allow, self.private_tmp, marker, self.policy.key_variables)
        ruleset = seccomp_fd = mounts = None
        pass_fds: tuple[int, ...] = ()
        born_init = False
        if self.mechanism == "landlock":
            # As root, the command can be born PID 1 of its namespace (no second fork): not with pipes, whose
            # reading needs asyncio's own process object.
            born_init = self.pid_ns and initproc.available() and subprocess.PIPE not in (stdout, stderr)
            mounts = self._mount_steps(cwd, born_init=born_init)
            rules = rules_for(self.policy, self.private_tmp, connect_ports, self._secret_paths,
                              mount_protected=mounts is not None)
            ruleset = landlock.build_ruleset(rules, self._abi)
            seccomp = command_filter(self.policy.network)
            hook = landlock.ChildHook(ruleset, seccomp=seccomp, drop_caps=True, mounts=mounts)
            if self.pid_ns:
                argv = init_wrapped(argv, cwd)
        elif self.mechanism == "bwrap":
            binary = bwrap_path() or "bwrap"
            program = command_program_bytes(network=True)  # bwrap's --unshare-net keeps the network off
            if program is not None:
                seccomp_fd = os.memfd_create("duet-seccomp", 0)
                os.write(seccomp_fd, program)
                os.lseek(seccomp_fd, 0, os.SEEK_SET)
                pass_fds = (seccomp_fd,)
            argv = [*bwrap_argv(binary, self.policy, self.private_tmp, cwd, share_net=bool(connect_ports),
                                hidden=self._secret_paths, seccomp_fd=seccomp_fd), *argv]
            hook = landlock.ChildHook(None, no_new_privs=False)  # a setuid bwrap must keep working
        else:
            hook = landlock.ChildHook(None, no_new_privs=self.mechanism == "none")
        proc: CommandProcess
        try:
            if born_init:
                with initproc.children_in_new_pid_namespace():
                    popen = subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
                                             stderr=stderr, env=env, start_new_session=True, preexec_fn=hook,
                                             pass_fds=pass_fds)
                proc = initproc.InitProcess(popen)
            else:
                proc = await asyncio.create_subprocess_exec(
                    *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env,
                    start_new_session=True, preexec_fn=hook, pass_fds=pass_fds)
        finally:
            for fd in (ruleset, seccomp_fd):
                if fd is not None:
                    os.close(fd)
        self._markers[proc.pid] = marker
        if mounts is not None:
            self._ns_fds[proc.pid] = hold_namespaces(proc.pid)
        return proc

    def finish(self, proc: CommandProcess, keep: frozenset[int] = frozenset()) -> None:
        """Reap what is left of `proc`'s command. `keep`: other children of this process not to touch (the eval
        runs several launchers side by side)."""
        marker = self._markers.pop(proc.pid, "")
        if isinstance(proc, initproc.InitProcess):
            if proc.returncode is None:
                proc.kill()  # Popen's kill: never a pid that was already waited for (and maybe reused)
                if proc.returncode is None:
                    wait_for_zombie(proc.pid)
        elif self.pid_ns:
            kill_namespace(proc.pid)
        release_namespaces(self._ns_fds.pop(proc.pid, []))
        # The command's own process is asyncio's to wait for; everything else of it is ours to reap.
        reap(proc.pid, marker, sandboxed=self.mechanism == "landlock",
             keep=frozenset({*self._markers, proc.pid, *keep}))

    def finish_all(self) -> None:
        """Kill every command still running (Duet is stopping)."""
        for pid, marker in list(self._markers.items()):
            self._markers.pop(pid, None)
            if self.pid_ns:
                kill_namespace(pid)
            release_namespaces(self._ns_fds.pop(pid, []))
            reap(pid, marker, sandboxed=self.mechanism == "landlock", keep=frozenset({*self._markers, pid}))

    def note(self, output: str) -> str:
        notes = [blocked_note(self.info(), output)]
        if self.policy.workspace_writable:  # a command may have made a nested repository: say so once
            now = nested_git(self.policy.workspace) | self._root_git()
            if fresh := sorted(now - self._nested_git):
                notes.append(prompts.render("sandbox_nested_git", paths=", ".join(fresh)))
            self._nested_git = now
        return "\n".join(n for n in notes if n)

    def close(self) -> None:
        shutil.rmtree(self.private_tmp, ignore_errors=True)
        if self._blank_dir is not None:
            shutil.rmtree(self._blank_dir, ignore_errors=True)
