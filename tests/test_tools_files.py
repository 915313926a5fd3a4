"""File tools: reading, writing, editing and patching, confined to the workspace."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tools.apply_patch import ApplyPatchArgs, ApplyPatchTool
from tools.base import ToolContext, ToolError
from tools.edit_file import EditFileArgs, EditFileTool
from tools.read_file import ReadFileArgs, ReadFileTool
from tools.registry import ToolBox, default_tools
from tools.write_file import WriteFileArgs, WriteFileTool

CASES = Path(__file__).parent / "patch_cases"


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    root = tmp_path / "ws"
    root.mkdir()
    return ToolContext(root=root)


async def read(ctx: ToolContext, path: str, **kw: int) -> str:
    return (await ReadFileTool().run(ReadFileArgs(path=path, **kw), ctx)).output


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


async def test_read_file_numbers_and_pages(ctx: ToolContext) -> None:
    (ctx.root / "f.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    text = await read(ctx, "f.txt", offset=10, limit=3)
    assert text.splitlines()[:3] == ["    10\tline 10", "    11\tline 11", "    12\tline 12"]
    assert "continue with offset=13" in text


async def test_read_file_refuses_binary(ctx: ToolContext) -> None:
    (ctx.root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ToolError, match="binary"):
        await read(ctx, "img.png")


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "sub/../../x"])
async def test_paths_outside_the_workspace_are_refused(ctx: ToolContext, path: str) -> None:
    with pytest.raises(ToolError):
        await WriteFileTool().run(WriteFileArgs(path=path, content="x"), ctx)
    assert not (ctx.root.parent / "outside.txt").exists()


async def test_symlink_leading_out_is_refused(ctx: ToolContext, tmp_path: Path) -> None:
    outside = tmp_path / "secret_dir"
    outside.mkdir()
    (outside / "f.txt").write_text("keep")
    os.symlink(outside, ctx.root / "link")
    with pytest.raises(ToolError, match="outside"):
        await EditFileTool().run(EditFileArgs(path="link/f.txt", old_string="keep", new_string="lost"), ctx)
    assert (outside / "f.txt").read_text() == "keep"


async def test_secret_files_are_refused(ctx: ToolContext) -> None:
    (ctx.root / ".env").write_text("API_KEY=sk-live-abc\n")
    with pytest.raises(ToolError, match="secrets"):
        await read(ctx, ".env")


async def test_write_creates_and_refuses_blind_overwrite(ctx: ToolContext) -> None:
    result = await WriteFileTool().run(WriteFileArgs(path="pkg/new.py", content="x = 1\n"), ctx)
    assert result.changes[0].action == "created" and (ctx.root / "pkg/new.py").read_text() == "x = 1\n"
    (ctx.root / "old.py").write_text("precious\n")
    with pytest.raises(ToolError, match="read_file it before"):
        await WriteFileTool().run(WriteFileArgs(path="old.py", content="gone\n"), ctx)
    assert (ctx.root / "old.py").read_text() == "precious\n"


async def test_file_changed_since_read_is_not_overwritten(ctx: ToolContext) -> None:
    path = ctx.root / "a.py"
    path.write_text("v = 1\n")
    await read(ctx, "a.py")
    path.write_text("v = 2  # the user's edit\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    with pytest.raises(ToolError, match="changed on disk"):
        await EditFileTool().run(EditFileArgs(path="a.py", old_string="v = 2", new_string="v = 3"), ctx)
    assert "user's edit" in path.read_text()


async def test_write_is_atomic_and_keeps_permissions(ctx: ToolContext) -> None:
    path = ctx.root / "run.sh"
    path.write_text("echo 1\n")
    path.chmod(0o755)
    await read(ctx, "run.sh")
    await WriteFileTool().run(WriteFileArgs(path="run.sh", content="echo 2\n"), ctx)
    assert path.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in ctx.root.iterdir()] == ["run.sh"]  # no temporary files left behind


async def test_edit_exact_unique_and_replace_all(ctx: ToolContext) -> None:
    path = ctx.root / "m.py"
    path.write_text("a = 1\nb = 1\n")
    await read(ctx, "m.py")
    with pytest.raises(ToolError, match="ambiguous: it matches 2 places"):
        await EditFileTool().run(EditFileArgs(path="m.py", old_string="= 1", new_string="= 2"), ctx)
    result = await EditFileTool().run(EditFileArgs(path="m.py", old_string="= 1", new_string="= 2",
                                                   replace_all=True), ctx)
    assert path.read_text() == "a = 2\nb = 2\n"
    assert "-a = 1" in result.changes[0].diff and "+a = 2" in result.changes[0].diff


async def test_edit_tolerates_whitespace_and_keeps_file_indentation(ctx: ToolContext) -> None:
    path = ctx.root / "m.py"
    path.write_text("class A:\n    def f(self):\n        return 1\n")
    await read(ctx, "m.py")
    result = await EditFileTool().run(
        EditFileArgs(path="m.py", old_string="def f(self):\n    return 1", new_string="def f(self):\n    return 2"),
        ctx)
    assert path.read_text() == "class A:\n    def f(self):\n        return 2\n"
    assert "ignoring surrounding whitespace" in result.output


async def test_edit_miss_shows_the_closest_region(ctx: ToolContext) -> None:
    (ctx.root / "m.py").write_text("".join(f"x{i} = {i}\n" for i in range(50)) + "def total(items):\n"
                                   "    return sum(items)\n")
    await read(ctx, "m.py")
    with pytest.raises(ToolError) as err:
        await EditFileTool().run(EditFileArgs(path="m.py", old_string="def total(things):\n    return sum(things)",
                                              new_string="pass"), ctx)
    assert "51\tdef total(items):" in str(err.value)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
async def test_apply_patch_cases(ctx: ToolContext, case: str) -> None:
    folder = CASES / case
    shutil.copytree(folder / "input", ctx.root, dirs_exist_ok=True)
    tool = ApplyPatchTool()
    args = ApplyPatchArgs(patch=(folder / "patch").read_text())
    if (folder / "error").exists():
        with pytest.raises(ToolError) as err:
            await tool.run(args, ctx)
        assert (folder / "error").read_text().strip() in str(err.value)
    else:
        await tool.run(args, ctx)
    assert tree(ctx.root) == tree(folder / "expected")


async def test_apply_patch_refuses_paths_outside(ctx: ToolContext) -> None:
    patch = "*** Begin Patch\n*** Add File: ../evil.txt\n+x\n*** End Patch"
    with pytest.raises(ToolError):
        await ApplyPatchTool().run(ApplyPatchArgs(patch=patch), ctx)
    assert not (ctx.root.parent / "evil.txt").exists()


async def test_toolbox_reports_bad_arguments_for_the_model(ctx: ToolContext) -> None:
    box = ToolBox(default_tools())
    with pytest.raises(ToolError, match="not valid JSON"):
        box.parse("read_file", '{"path": "a.py"')
    with pytest.raises(ToolError, match="path: Field required"):
        box.parse("read_file", '{"file": "a.py"}')
    with pytest.raises(ToolError, match="offset: Input should be a valid integer"):
        box.parse("read_file", '{"path": "a.py", "offset": "ten"}')
    with pytest.raises(ToolError, match="unknown tool"):
        box.parse("rm_rf", "{}")
    schema = next(s for s in box.schemas if s["function"]["name"] == "edit_file")["function"]["parameters"]
    assert schema["required"] == ["path", "old_string", "new_string"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("text", "old", "new"), [
    ("def f():\n    return 1\n", "def f():\n  return 1", "def f():\n  return 2"),  # reindented
    ("msg = “it’s here”\n", 'msg = "it\'s here"', 'msg = "it\'s gone"'),  # curly quotes kept
    ("a = 1   \r\nb = 2\r\n", "a = 1\nb = 2", "a = 10\nb = 20"),  # trailing spaces, CRLF kept
])
async def test_an_edit_preview_is_exactly_what_the_edit_writes(ctx: ToolContext, text: str, old: str,
                                                                new: str) -> None:
    target = ctx.root / "m.py"
    target.write_bytes(text.encode())
    await ReadFileTool().run(ReadFileArgs(path="m.py"), ctx)
    args = EditFileArgs(path="m.py", old_string=old, new_string=new)
    shown = EditFileTool().preview(args, ctx)
    assert target.read_bytes() == text.encode()  # a dry run writes nothing
    result = await EditFileTool().apply(args, ctx, shown)
    assert result.ok and shown.kind == "diff" and [c.diff for c in result.changes] == [shown.text]
    assert shown.basis[0][2] == hashlib.sha256(target.read_bytes()).hexdigest()


async def test_previews_refuse_what_cannot_apply_and_write_nothing(ctx: ToolContext) -> None:
    (ctx.root / "m.py").write_text("x = 1\n")
    with pytest.raises(ToolError, match="have not read it"):
        EditFileTool().preview(EditFileArgs(path="m.py", old_string="x = 1", new_string="x = 2"), ctx)
    with pytest.raises(ToolError, match="No file was changed"):
        ApplyPatchTool().preview(ApplyPatchArgs(patch="*** Begin Patch\n*** Update File: m.py\n@@\n-y = 1\n+y = 2\n"
                                                      "*** End Patch"), ctx)
    shown = WriteFileTool().preview(WriteFileArgs(path="new/n.py", content="n = 1\n"), ctx)
    assert shown.text.startswith("--- /dev/null\n+++ b/new/n.py") and not (ctx.root / "new").exists()


async def test_a_patch_is_not_applied_over_a_change_made_after_its_preview(ctx: ToolContext) -> None:
    target = ctx.root / "m.py"
    target.write_text("a = 1\nb = 2\n")
    args = ApplyPatchArgs(patch="*** Begin Patch\n*** Update File: m.py\n@@\n-a = 1\n+a = 10\n*** End Patch")
    shown = ApplyPatchTool().preview(args, ctx)
    target.write_text("a = 1\nb = 3\n")  # the user edits another line meanwhile; the patch would still apply
    with pytest.raises(ToolError, match=r"m\.py changed since it was previewed"):
        await ApplyPatchTool().apply(args, ctx, shown)
    assert target.read_text() == "a = 1\nb = 3\n"
    result = await ApplyPatchTool().apply(args, ctx, ApplyPatchTool().preview(args, ctx))  # previewed again: fine
    assert result.ok and target.read_text() == "a = 10\nb = 3\n"
