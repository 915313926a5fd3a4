"""The shaped contexts of the side calls: the workspace's diff, the touched files, the repository map, cut to
sizes a plan or a review needs (never the driver's whole-repository pack)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from agent.gitsafe import git_argv, git_env
from tools.output_buffer import head_tail

DIFF_CHARS = 40_000
FILE_CHARS = 12_000
FILES_CHARS = 60_000
TESTS_CHARS = 8_000
MAP_CHARS = 24_000


OWN_DIR = ".duet/"  # Duet's own files (config, caches) are no part of the change under review


class DiffError(Exception):
    """The diff cannot be had (no git repository, an unknown REF)."""


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(git_argv(root, *args), cwd=root, env=git_env(root=root), capture_output=True,
                              text=True, errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiffError(f"git {args[0]}: {exc}") from None
    if done.returncode != 0:
        line = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
        raise DiffError(f"git {args[0]}: {line}")
    return done.stdout


def workspace_diff(root: Path, base: str = "HEAD") -> tuple[str, list[str]]:
    """The diff of the work tree against `base` (new untracked files shown whole) and the paths it touches."""
    if not _git(root, "rev-parse", "--is-inside-work-tree").strip() == "true":
        raise DiffError("not inside a git work tree")
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except DiffError:
        raise DiffError(f"no such commit {base!r} (--base)") from None
    diff = _git(root, "diff", "--no-color", "--no-ext-diff", base, "--")
    paths = [p for p in _git(root, "diff", "--name-only", "--no-ext-diff", base, "--").splitlines() if p]
    untracked = _git(root, "ls-files", "--others", "--exclude-standard").splitlines()
    for path in [p for p in untracked if p and not p.startswith(OWN_DIR)]:
        paths.append(path)
        text = _read(root / path, FILE_CHARS)
        lines = "".join(f"+{line}\n" for line in text.splitlines())
        diff += f"diff --git a/{path} b/{path}\nnew file\n--- /dev/null\n+++ b/{path}\n{lines}"
    return diff, paths


def _read(path: Path, limit: int) -> str:
    try:
        if path.is_symlink() or not path.is_file():
            return "(not a regular file)"
        return head_tail(path.read_bytes()[: limit * 4].decode("utf-8", errors="replace"), limit)
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"


def touched_files(root: Path, paths: Iterable[str]) -> str:
    """Each touched file's current text, fenced, within FILES_CHARS in all."""
    out: list[str] = []
    left = FILES_CHARS
    for path in sorted(set(paths)):
        if left <= 0:
            out.append(f"(further files left out: {path} …)")
            break
        full = root / path
        text = _read(full, min(FILE_CHARS, left)) if full.exists() else "(deleted)"
        left -= len(text)
        out.append(f"### {path}\n```\n{text}\n```")
    return "\n\n".join(out) or "(none)"


def cut(text: str, limit: int) -> str:
    return head_tail(text, limit) if text else "(none)"
