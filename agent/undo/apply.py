"""Carrying out an undo plan: restore what is still as Duet left it, leave the rest (unless forced, and then
only after showing what will be lost), and write every file safely (temporary file, then rename), relative
to a directory fd reached beneath the workspace without following any link (tools.beneath)."""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agent.undo.model import FileUndo, UndoPlan, confined
from tools.atomic import atomic_write_at, current_umask
from tools.beneath import LinkRefused, lstat_at, open_dir_beneath


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


def write_safely(dir_fd: int, name: str, data: bytes, git_mode: str) -> None:
    """Put `data` at `name` in the directory open as `dir_fd` through a temporary file and a rename, both relative
    to that fd (nothing is followed on the way); a link is recreated as a link."""
    if git_mode != "120000":
        existing = lstat_at(dir_fd, name)
        if existing is not None and stat.S_ISLNK(existing.st_mode):
            os.unlink(name, dir_fd=dir_fd)  # a link in the file's place is replaced, never written through
            existing = None
        mode = existing.st_mode & 0o7777 if existing is not None else 0o666 & ~current_umask()
        mode = mode | 0o111 & ~current_umask() if git_mode == "100755" else mode & ~0o111
        atomic_write_at(dir_fd, name, data, mode=mode)
        return
    tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.duet-undo"
    os.symlink(os.fsdecode(data), tmp, dir_fd=dir_fd)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _diff(workspace: Path, item: FileUndo, before: bytes) -> str:
    path = workspace / item.path
    try:
        now = path.read_bytes() if item.current_exists else b""
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
    root_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for item in sorted(chosen, key=lambda f: f.path):
            try:
                confined(workspace, item.path)  # a forged record is refused whole
            except OSError:  # a link changing while it was looked at: refused below, beneath the fd, anyway
                pass
            try:
                _restore(root_fd, item, plan, report)
            except OSError as exc:  # a full or failing disk: said, and the next file still tried
                report.cannot_restore.append(f"{item.path}: {exc.strerror or exc}")
    finally:
        os.close(root_fd)
    _verify(plan, chosen, report)
    return report


def _verify(plan: UndoPlan, chosen: list[FileUndo], report: UndoReport) -> None:
    """Read the tree back: a file undo meant to restore that is not as it was is named, never counted as done."""
    done = {*report.restored, *report.removed}
    for path in plan.still_differs([f for f in chosen if f.path in done]):
        report.restored = [p for p in report.restored if p != path]
        report.removed = [p for p in report.removed if p != path]
        report.cannot_restore.append(f"{path}: not as it was before the session after restoring it (changed while "
                                     "undo ran, or the disk refused); restore it by hand")


def _restore(root_fd: int, item: FileUndo, plan: UndoPlan, report: UndoReport) -> None:
    """One file put back (or removed), reached beneath the workspace's fd without following any link."""
    relative = PurePosixPath(item.path)
    try:
        dir_fd = open_dir_beneath(root_fd, relative.parent, make=item.before.blob is not None)
    except FileNotFoundError:  # nothing to remove: its directory is gone already
        report.removed.append(item.path)
        return
    except LinkRefused as exc:
        report.cannot_restore.append(f"{item.path}: a symbolic link is on the way ({exc.where}); not followed")
        return
    try:
        if item.before.blob is None:
            found = lstat_at(dir_fd, relative.name)
            if found is not None and not stat.S_ISDIR(found.st_mode):
                os.unlink(relative.name, dir_fd=dir_fd)
            report.removed.append(item.path)
        else:
            write_safely(dir_fd, relative.name, plan.read_before(item), item.before.mode)
            report.restored.append(item.path)
    except LinkRefused:  # planted in the file's place between our look and the write
        report.cannot_restore.append(f"{item.path}: a symbolic link appeared in its place; not followed")
    finally:
        os.close(dir_fd)
