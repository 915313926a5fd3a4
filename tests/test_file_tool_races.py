"""File tools against a process that swaps a workspace directory for a link to outside while they run.

A command's survivor can loop `renameat2(RENAME_EXCHANGE)` between `sub/` and a link `swap -> outside`: a tool
that checks a path as a string and then writes by the string lands outside about once in a few hundred calls.
Here a real process does the swapping while the tools run many times; nothing outside may ever be written or
read, and every call either works inside or is refused with a clear error.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tools import beneath
from tools.apply_patch import ApplyPatchArgs, ApplyPatchTool
from tools.base import ToolContext, ToolError
from tools.edit_file import EditFileArgs, EditFileTool
from tools.read_file import ReadFileArgs, ReadFileTool
from tools.write_file import WriteFileArgs, WriteFileTool

pytestmark = pytest.mark.skipif(platform.system() != "Linux", reason="renameat2(RENAME_EXCHANGE) is Linux's")

SWAPPER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
ws = sys.argv[1]
a, b = os.path.join(ws, "sub").encode(), os.path.join(ws, "swap").encode()
print("ready", flush=True)
swaps = 0
while True:
    if libc.renameat2(-100, a, -100, b, 2) == 0:  # AT_FDCWD, RENAME_EXCHANGE
        swaps += 1
        if swaps % 100 == 0:
            open(os.path.join(ws, "..", "swaps.tmp"), "w").write(str(swaps))
            os.replace(os.path.join(ws, "..", "swaps.tmp"), os.path.join(ws, "..", "swaps"))
"""
ROUNDS = 400
SECRET = "OUTSIDE-CANARY-7f3a"


@pytest.fixture
def arena(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A workspace whose `sub/` a real process keeps exchanging with `swap -> ../outside`."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "f.txt").write_text(SECRET + "\n")
    (root / "sub" / "f.txt").write_text("inside\n")
    (root / "swap").symlink_to(outside)
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert swapper.stdout is not None and swapper.stdout.readline().strip() == "ready"
        yield root, outside
    finally:
        swapper.kill()
        swapper.wait()
    swaps = (tmp_path / "swaps").read_text() if (tmp_path / "swaps").exists() else "0"
    assert int(swaps) >= 100, "the swapper did not run: the race was never tried"


def outside_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["f.txt"]
    assert (outside / "f.txt").read_text() == SECRET + "\n"


async def test_write_edit_and_patch_never_land_outside_while_a_directory_is_swapped(arena) -> None:  # type: ignore[no-untyped-def]
    root, outside = arena
    ctx = ToolContext(root=root)
    results = {"written": 0, "refused": 0}
    for i in range(ROUNDS):
        calls = [
            (WriteFileTool(), WriteFileArgs(path=f"sub/w{i}.txt", content="new\n")),
            (EditFileTool(), EditFileArgs(path=f"sub/e{i}.txt", old_string="", new_string="new\n")),
            (ApplyPatchTool(), ApplyPatchArgs(patch=f"*** Begin Patch\n*** Add File: sub/p{i}.txt\n+new\n"
                                                    "*** End Patch")),
        ]
        for tool, args in calls:
            try:
                await tool.run(args, ctx)  # type: ignore[arg-type]
                results["written"] += 1
            except ToolError as exc:
                assert any(w in str(exc) for w in ("link", "outside", "not a directory")), str(exc)
                assert "\n" not in str(exc).split("No file was changed")[0].strip(), str(exc)
                results["refused"] += 1
        if i % 50 == 0:
            outside_untouched(outside)
    outside_untouched(outside)
    assert results["written"] > 0


async def test_read_file_never_shows_a_file_outside_while_a_directory_is_swapped(arena) -> None:  # type: ignore[no-untyped-def]
    root, outside = arena
    ctx = ToolContext(root=root)
    shown = 0
    for _ in range(ROUNDS * 2):
        try:
            out = (await ReadFileTool().run(ReadFileArgs(path="sub/f.txt"), ctx)).output
        except ToolError as exc:
            assert any(w in str(exc) for w in ("link", "outside", "no such file", "not a directory")), str(exc)
            continue
        assert SECRET not in out
        shown += 1
    assert shown > 0
    outside_untouched(outside)


def test_the_component_walk_fallback_holds_too(arena) -> None:  # type: ignore[no-untyped-def]
    """Where openat2 is missing, the O_NOFOLLOW walk gives the same guarantee (driven directly here)."""
    root, outside = arena
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(ROUNDS * 20):
            try:
                fd = beneath._walk(root_fd, ("sub", f"x{i}.txt"), os.O_WRONLY | os.O_CREAT | os.O_EXCL
                                   | os.O_NOFOLLOW, 0o644)
            except OSError:
                continue
            os.write(fd, b"new\n")
            os.close(fd)
    finally:
        os.close(root_fd)
    outside_untouched(outside)


def test_undo_never_restores_outside_while_a_directory_is_swapped(arena) -> None:  # type: ignore[no-untyped-def]
    """Undo's writer: the same swapper while a plan restores files into `sub/` again and again."""
    from agent.undo.apply import apply_plan
    from agent.undo.gitsnap import Entry
    from agent.undo.model import FileUndo, UndoError, UndoPlan

    root, outside = arena
    restored = 0
    for i in range(ROUNDS):
        files = [FileUndo(name, Entry("b"), as_duet_left_it=True, already_restored=False, current_exists=True)
                 for name in (f"sub/u{i}.txt", "sub/f.txt")]
        plan = UndoPlan(session_id="s", files=files, read_before=lambda _item: b"restored\n")
        try:
            report = apply_plan(plan, root)
        except UndoError:
            continue
        restored += len(report.restored)
    outside_untouched(outside)
    assert restored > 0


def test_the_kernel_walk_is_used_where_openat2_exists(tmp_path: Path) -> None:
    """openat2 is really called (a wrong argument made it fail with EINVAL and fall back every time)."""
    if platform.machine() not in ("x86_64", "aarch64") or tuple(map(int, platform.release().split(".")[:2])) < (5, 6):
        pytest.skip("openat2 needs Linux 5.6 on x86_64 or aarch64")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "d")
    root = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for flags in (os.O_RDONLY | os.O_NOFOLLOW, beneath._DIR_FLAGS | os.O_NOFOLLOW):
            fd = beneath._openat2(root, "d/f" if flags & os.O_DIRECTORY == 0 else "d", flags, 0o666)
            assert fd is not None
            os.close(fd)
        with pytest.raises(beneath.LinkRefused):
            beneath.open_beneath(root, "link/f", os.O_RDONLY)
    finally:
        os.close(root)
