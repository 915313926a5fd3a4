"""Carrying out an undo plan: restore what is still as Duet left it, leave the rest (unless forced, and then
only after showing what will be lost), and write every file safely (temporary file, then rename)."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agent.undo.model import FileUndo, UndoPlan, confined


@dataclass
class UndoReport:
    session_id: str
    restored: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # files Duet created, as Duet left them
    kept: list[str] = field(default_factory=list)  # changed since by someone else: left alone
    cannot_restore: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Everything the session changed is back as it was."""
        return not self.kept and not self.cannot_restore

    def lines(self) -> list[str]:
        """The report for people, one line per fact."""
        out = [f"session {self.session_id}: restored {len(self.restored)} file(s), removed {len(self.removed)} "
               f"file(s) Duet created"]
        out += [f"  restored {p}" for p in self.restored] + [f"  removed {p}" for p in self.removed]
        if self.kept:
            out.append(f"left alone {len(self.kept)} file(s) changed since Duet's last run "
                       "(`agent undo --force` restores them, showing the diff first):")
            out += [f"  {p}" for p in self.kept]
        out += [f"cannot restore: {note}" for note in self.cannot_restore]
        return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_safely(target: Path, data: bytes, git_mode: str) -> None:
    """Put `data` at `target` through a temporary file and a rename; a link is recreated as a link."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".duet-undo", dir=target.parent)
    try:
        if git_mode == "120000":
            os.close(fd)
            os.unlink(tmp)
            os.symlink(os.fsdecode(data), tmp)
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            try:
                mode = target.stat().st_mode & 0o7777 if not target.is_symlink() else None
            except FileNotFoundError:
                mode = None
            if mode is None:
                mode = 0o666 & ~_umask()
            mode = mode | 0o111 & ~_umask() if git_mode == "100755" else mode & ~0o111
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _diff(workspace: Path, item: FileUndo, before: bytes) -> str:
    path = workspace / item.path
    try:
        now = path.read_bytes() if item.current.blob is not None else b""
    except OSError:
        now = b""
    if b"\0" in now[:8192] or b"\0" in before[:8192]:
        return f"--- {item.path} (now)\n+++ {item.path} (checkpoint)\nbinary file differs\n"
    lines = difflib.unified_diff(now.decode("utf-8", "replace").splitlines(keepends=True),
                                 before.decode("utf-8", "replace").splitlines(keepends=True),
                                 f"{item.path} (now)", f"{item.path} (checkpoint)")
    return "".join(lines) or f"{item.path}: only its mode differs\n"


def forced_diffs(plan: UndoPlan, workspace: Path) -> list[str]:
    """What `--force` would overwrite: for each file changed since Duet's run, its diff back to the checkpoint."""
    workspace = workspace.resolve()
    return [_diff(workspace, item, plan.read_before(item) if item.before.blob is not None else b"")
            for item in plan.changed_since]


def apply_plan(plan: UndoPlan, workspace: Path, *, force: bool = False) -> UndoReport:
    """Restore the files the plan allows (all of them with `force`); return what was done and left."""
    workspace = workspace.resolve()
    report = UndoReport(plan.session_id, cannot_restore=list(plan.cannot_restore))
    chosen = plan.restorable + (plan.changed_since if force else [])
    report.kept = [] if force else [f.path for f in plan.changed_since]
    for item in sorted(chosen, key=lambda f: f.path):
        target = confined(workspace, item.path)
        if item.before.blob is None:
            if target.is_file() or target.is_symlink():
                target.unlink()
            report.removed.append(item.path)
        else:
            write_safely(target, plan.read_before(item), item.before.mode)
            report.restored.append(item.path)
    return report
