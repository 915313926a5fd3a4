"""What git says about the work tree, asked in one go: the tracked files with their blob ids, which of them
git has seen change (by its index's stat data), and the untracked files it does not ignore.

The three git commands start together; the caller reads each answer when it needs it, so the walk that
lists untracked files (the slowest, it reads every directory) runs while the caller works on the rest.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from pathlib import Path

from agent.gitsafe import git_argv, git_env

TIMEOUT = 120
REGULAR_MODES = ("100644", "100755")


def split_paths(out: bytes) -> list[str]:
    """Paths of a `-z` listing, each once, in order."""
    return [p for p in dict.fromkeys(out.decode("utf-8", errors="replace").split("\0")) if p]


class WorktreeListing:
    """The running git commands for one scan; every answer is None when git could not give it."""

    def __init__(self, root: Path) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._untracked = self._start(root, "ls-files", "-o", "--exclude-standard", "-z")
        # read as it comes, so git never blocks on a full pipe while the caller is busy (or never asks)
        self._untracked_out: list[bytes | None] = []
        self._untracked_reader = threading.Thread(target=lambda: self._untracked_out.append(
            self._answer(self._untracked)), name="duet-untracked", daemon=True)
        self._untracked_reader.start()
        self._dirty = self._start(root, "diff-files", "--name-only", "-z")
        self._tracked = self._start(root, "ls-files", "-s", "-v", "-z")
        self._tracked_out: bytes | None = None

    def _start(self, root: Path, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(git_argv(root, *args), cwd=root, env=git_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        self._procs.append(proc)
        return proc

    @staticmethod
    def _answer(proc: subprocess.Popen[bytes]) -> bytes | None:
        try:
            out, _ = proc.communicate(timeout=TIMEOUT)
        except (OSError, subprocess.SubprocessError):
            proc.kill()
            proc.wait()
            return None
        return out if proc.returncode == 0 else None

    def tracked(self) -> bytes | None:
        """`git ls-files -s -v -z`: "<tag> <mode> <blob> <stage>\\t<path>" per index entry (-v: the tag is
        lowercase for a file git is told to assume unchanged)."""
        if self._tracked_out is None:
            self._tracked_out = self._answer(self._tracked)
        return self._tracked_out

    def key(self) -> str | None:
        """A digest of the tracked listing: equal listings mean the same paths, blobs, modes and flags."""
        out = self.tracked()
        return hashlib.blake2b(out, digest_size=16).hexdigest() if out is not None else None

    def dirty(self) -> set[str] | None:
        """Tracked paths whose work-tree file git cannot vouch for (stat data changed, deleted, racy and
        different): the others hold exactly their index blob."""
        out = self._answer(self._dirty)
        return set(split_paths(out)) if out is not None else None

    def untracked(self) -> list[str] | None:
        self._untracked_reader.join()
        out = self._untracked_out[0] if self._untracked_out else None
        return split_paths(out) if out is not None else None

    def close(self) -> None:
        """Stop whatever is still running (an answer not needed after a failure)."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def tracked_blobs(listing: bytes) -> list[tuple[str, str | None]]:
    """(path, blob) per tracked path; the blob only where the entry can describe the work tree (a regular
    file at stage 0 with no skip-worktree or assume-unchanged bit: tag "H"). Whether git still vouches for
    it depends on `dirty`, asked separately."""
    out: list[tuple[str, str | None]] = []
    for record in listing.decode("utf-8", errors="replace").split("\0"):
        meta, _, path = record.partition("\t")
        if not path:
            continue
        fields = meta.split(" ")
        eligible = len(fields) == 4 and fields[0] == "H" and fields[3] == "0" and fields[1] in REGULAR_MODES
        out.append((path, fields[2] if eligible else None))
    return out
