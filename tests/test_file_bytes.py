"""Writing tools keep what they did not mean to change: line endings, encodings, modes; writes are atomic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.apply_patch import ApplyPatchArgs, ApplyPatchTool
from tools.atomic import TMP_SUFFIX, atomic_write_bytes
from tools.base import ToolContext, ToolError
from tools.edit_file import EditFileArgs, EditFileTool
from tools.read_file import ReadFileArgs, ReadFileTool
from tools.write_file import WriteFileArgs, WriteFileTool


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    root = tmp_path / "ws"
    root.mkdir()
    return ToolContext(root=root)


async def read(ctx: ToolContext, path: str) -> str:
    return (await ReadFileTool().run(ReadFileArgs(path=path), ctx)).output


async def edit(ctx: ToolContext, path: str, old: str, new: str, **kw: bool) -> str:
    return (await EditFileTool().run(EditFileArgs(path=path, old_string=old, new_string=new, **kw), ctx)).output


async def patch(ctx: ToolContext, text: str) -> None:
    await ApplyPatchTool().run(ApplyPatchArgs(patch=text), ctx)


async def test_crlf_file_stays_crlf_through_every_writing_tool(ctx: ToolContext) -> None:
    path = ctx.root / "win.txt"
    path.write_bytes(b"alpha\r\nbeta\r\ngamma\r\n")
    assert "line endings: CRLF" in await read(ctx, "win.txt")
    await edit(ctx, "win.txt", "beta\n", "beta\nbeta two\n")
    assert path.read_bytes() == b"alpha\r\nbeta\r\nbeta two\r\ngamma\r\n"
    await patch(ctx, "*** Begin Patch\n*** Update File: win.txt\n@@\n alpha\n-beta\n+BETA\n*** End Patch")
    assert path.read_bytes() == b"alpha\r\nBETA\r\nbeta two\r\ngamma\r\n"
    await WriteFileTool().run(WriteFileArgs(path="win.txt", content="alpha\nomega\n"), ctx)
    assert path.read_bytes() == b"alpha\r\nomega\r\n"


async def test_mixed_line_endings_keep_each_untouched_line_byte_exact(ctx: ToolContext) -> None:
    path = ctx.root / "mixed.txt"
    path.write_bytes(b"one\r\ntwo\nthree\r\nfour\nfive\r\nsix")
    await read(ctx, "mixed.txt")
    await edit(ctx, "mixed.txt", "three", "THREE")
    assert path.read_bytes() == b"one\r\ntwo\nTHREE\r\nfour\nfive\r\nsix"  # no final line break added either
    await edit(ctx, "mixed.txt", "four\n", "four\nfour and a half\n")
    assert path.read_bytes() == b"one\r\ntwo\nTHREE\r\nfour\nfour and a half\r\nfive\r\nsix"


async def test_latin1_byte_past_8k_round_trips_when_another_line_is_edited(ctx: ToolContext) -> None:
    path = ctx.root / "legacy.txt"
    body = b"first line\n" + b"filler\n" * 1500 + b"caf\xe9 cr\xe8me\n"
    assert len(body) > 8192
    path.write_bytes(body)
    await read(ctx, "legacy.txt")
    await edit(ctx, "legacy.txt", "first line", "FIRST LINE")
    assert path.read_bytes() == body.replace(b"first line", b"FIRST LINE")


async def test_latin1_byte_early_is_text_shown_with_its_encoding(ctx: ToolContext) -> None:
    path = ctx.root / "early.txt"
    path.write_bytes(b"na\xefve\r\nsecond\r\n")
    shown = await read(ctx, "early.txt")
    assert "1\tna\u00efve" in shown and "encoding: latin-1" in shown
    await edit(ctx, "early.txt", "second", "2nd \u00e9t\u00e9")
    assert path.read_bytes() == b"na\xefve\r\n2nd \xe9t\xe9\r\n"
    with pytest.raises(ToolError, match="latin-1, which cannot hold"):
        await edit(ctx, "early.txt", "2nd", "\u2713")
    assert path.read_bytes() == b"na\xefve\r\n2nd \xe9t\xe9\r\n"


async def test_utf8_bom_is_kept(ctx: ToolContext) -> None:
    path = ctx.root / "bom.cs"
    path.write_bytes(b"\xef\xbb\xbfusing System;\r\nclass A {}\r\n")
    assert "1\tusing System;" in await read(ctx, "bom.cs")
    await edit(ctx, "bom.cs", "class A {}", "class B {}")
    assert path.read_bytes() == b"\xef\xbb\xbfusing System;\r\nclass B {}\r\n"


async def test_new_files_honour_the_umask_and_edited_files_keep_their_mode(ctx: ToolContext) -> None:
    old = os.umask(0o022)
    try:
        await WriteFileTool().run(WriteFileArgs(path="new.txt", content="x\n"), ctx)
        assert (ctx.root / "new.txt").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        await patch(ctx, "*** Begin Patch\n*** Add File: private.txt\n+p\n*** End Patch")
        assert (ctx.root / "private.txt").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    script = ctx.root / "run.sh"
    script.write_text("echo 1\n")
    script.chmod(0o750)
    await read(ctx, "run.sh")
    await edit(ctx, "run.sh", "echo 1", "echo 2")
    assert script.stat().st_mode & 0o777 == 0o750


WRITER = """
import sys
from pathlib import Path
from tools.atomic import atomic_write_bytes
target = Path(sys.argv[1])
print("ready", flush=True)
n = 0
while True:
    n += 1
    atomic_write_bytes(target, (b"%d\\n" % n) * 400_000)
"""


def test_kill_9_during_writes_leaves_a_whole_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "big.txt"
    target.write_bytes(b"0\n" * 400_000)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(0.3)  # let it get well into its writes
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Killed between naming its temporary and renaming it over the target (a window of one syscall), a
        # writer leaves that name behind; the next write to the file sweeps it.
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.txt"]
        assert all(name.endswith(TMP_SUFFIX) for name in leftovers), leftovers
        data = target.read_bytes()
        first = data.split(b"\n", 1)[0]
        assert data == first + b"\n" + (first + b"\n") * 399_999  # one complete version, never a mix
    atomic_write_bytes(target, b"after\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


def test_a_named_temporary_left_by_a_dead_writer_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".f.txt.{dead.pid}.0123abcd{TMP_SUFFIX}"
    stale.write_bytes(b"half")
    atomic_write_bytes(target, b"whole\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


async def test_edit_requires_a_read_and_creates_with_empty_old_string(ctx: ToolContext) -> None:
    path = ctx.root / "unread.py"
    path.write_text("x = 1\n")
    with pytest.raises(ToolError, match="have not read it"):
        await edit(ctx, "unread.py", "x = 1", "x = 2")
    assert path.read_text() == "x = 1\n"
    with pytest.raises(ToolError, match="no such file"):
        await edit(ctx, "pkg/new.py", "anything", "y")
    assert "created pkg/new.py" in await edit(ctx, "pkg/new.py", "", "y = 1\n")
    assert (ctx.root / "pkg/new.py").read_text() == "y = 1\n"
    await edit(ctx, "pkg/new.py", "y = 1", "y = 2")  # created in this session: may be edited without a read
    assert (ctx.root / "pkg/new.py").read_text() == "y = 2\n"


async def test_ambiguity_is_reported_at_a_loose_level_too(ctx: ToolContext) -> None:
    path = ctx.root / "a.py"
    path.write_text("def f():\n    return 1\n\ndef g():\n\treturn 1\n")
    await read(ctx, "a.py")
    with pytest.raises(ToolError, match=r"ambiguous: .* 2 places .*surrounding whitespace.*lines 2, 5"):
        await edit(ctx, "a.py", "return 1   ", "return 2")
    assert "return 2" not in path.read_text()


async def test_curly_and_straight_quotes_match_alike(ctx: ToolContext) -> None:
    path = ctx.root / "doc.md"
    path.write_text("He said \u201cstop\u201d \u2014 it\u2019s late.\n")
    await read(ctx, "doc.md")
    out = await edit(ctx, "doc.md", "He said \"stop\" - it's late.", "He said \"go\" - it's time.")
    assert "typographic" in out
    assert path.read_text() == "He said \u201cgo\u201d - it\u2019s time.\n"  # the file's quote style kept


async def test_line_number_prefixes_never_reach_the_file(ctx: ToolContext) -> None:
    path = ctx.root / "n.py"
    path.write_text("a = 1\nb = 2\nc = 3\n")
    await read(ctx, "n.py")
    await edit(ctx, "n.py", "     2\tb = 2\n     3\tc = 3", "     2\tb = 20\n     3\tc = 30")
    assert path.read_text() == "a = 1\nb = 20\nc = 30\n"
    with pytest.raises(ToolError, match="line-number prefix"):
        await edit(ctx, "n.py", "a = 1", "     1\ta = 10")
    with pytest.raises(ToolError, match="line-number prefix"):
        await WriteFileTool().run(WriteFileArgs(path="n.py", content="     1\tx\n     2\ty\n"), ctx)
    assert path.read_text() == "a = 1\nb = 20\nc = 30\n"
