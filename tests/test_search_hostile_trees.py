"""search on hostile trees and hosts (a review's findings): which rg runs, cancelling it, FIFOs, odd file names,
sparse giants, forged debug-log lines, the model's glob, symbolic links. Real files, real ripgrep."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import sys
from pathlib import Path

import pytest

from tools.base import ToolContext, ToolError
from tools.list_files import ListFilesArgs, ListFilesTool
from tools.ripgrep import ripgrep
from tools.search import SearchArgs, SearchTool, format_hits, python_search, ripgrep_search

RG = ripgrep(Path(__file__).resolve().parent)
needs_rg = pytest.mark.skipif(RG is None, reason="ripgrep not installed")
BIG_SEEN = "matches not shown, over the 4 MB size cap"
BIG_UNREAD = "not searched, over the 4 MB size cap"
SECRET = "not searched, secret files"


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# S1 ------------------------------------------------------------------------------------------------------------

@needs_rg
async def test_an_rg_inside_the_workspace_is_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Duet installed in `<workspace>/.venv`: the rg beside the interpreter, one on PATH inside the workspace and
    one outside that links back in are all writable by sandboxed commands, so none is run; the next candidate
    is, and with none left the Python engine searches."""
    ws = tmp_path / "ws"
    escaped = tmp_path / "escaped"
    evil = f"#!/bin/sh\ntouch '{escaped}'\n"
    executable(ws / ".venv/bin/rg", evil)
    executable(ws / "tools/bin/rg", evil)
    (tmp_path / "linkbin").mkdir()
    (tmp_path / "linkbin/rg").symlink_to(ws / "tools/bin/rg")
    (ws / "a.txt").write_text("needle\n")
    ctx = ToolContext(root=ws)
    monkeypatch.setattr(sys, "executable", str(ws / ".venv/bin/python"))
    monkeypatch.setenv("PATH", os.pathsep.join([str(ws / "tools/bin"), str(tmp_path / "linkbin")]))
    assert ripgrep(ws) is None
    result = await SearchTool().run(SearchArgs(pattern="needle"), ctx)
    assert result.data["engine"] == "python" and result.output == "a.txt:1: needle"
    # Nor one on a PATH entry inside the workspace or a temp dir, even a link to a real rg: a command could
    # re-point it before Duet looks.
    (tmp_path / "realbin").mkdir()
    (tmp_path / "realbin/rg").symlink_to(RG or "rg")
    (ws / "ok").mkdir()
    (ws / "ok/rg").symlink_to(RG or "rg")
    monkeypatch.setenv("PATH", os.pathsep.join([str(ws / "ok"), str(tmp_path / "realbin")]))
    assert ripgrep(ws) is None
    # A real rg further along PATH, outside them, is taken by its resolved path.
    monkeypatch.setenv("PATH", os.pathsep.join([str(ws / "tools/bin"), str(tmp_path / "linkbin"), str(ws / "ok"),
                                                str(Path(RG or "rg").parent)]))
    assert ripgrep(ws) == str(Path(RG or "rg").resolve())
    result = await SearchTool().run(SearchArgs(pattern="needle"), ctx)
    assert result.data["engine"] == "rg" and result.output == "a.txt:1: needle"
    assert not escaped.exists()


# S3 ------------------------------------------------------------------------------------------------------------

async def test_a_fifo_or_socket_as_the_search_path_is_refused_by_both_engines(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "sock"))
    (tmp_path / "a.txt").write_text("hello\n")
    ctx = ToolContext(root=tmp_path)
    # A FIFO inside the tree is passed over, not waited on.
    assert (await asyncio.wait_for(SearchTool().run(SearchArgs(pattern="hello"), ctx), 30)).output == "a.txt:1: hello"
    for path in ("pipe", "sock"):
        args = SearchArgs(pattern="hello", path=path)
        with pytest.raises(ToolError, match="not a regular file or directory") as refused:
            python_search(ctx, args)
        assert "\n" not in str(refused.value)
        if RG:
            with pytest.raises(ToolError, match="not a regular file or directory"):
                await asyncio.wait_for(ripgrep_search(RG, ctx, args), 30)  # a guard against the old hang
    listener.close()


async def test_cancelling_a_search_the_way_the_loop_runs_it_kills_ripgrep(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """agent/loop.py runs a `runs_in_thread` tool with asyncio.to_thread(asyncio.run, ...), where cancelling the
    turn never reaches the process; search must run in the loop so that ripgrep dies with the call."""
    pid_file = tmp_path / "rg.pid"
    executable(tmp_path / "bin/rg", f"#!/bin/sh\necho $$ > '{pid_file}'\nexec sleep 60\n")  # a stuck ripgrep
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin/python"))
    ws = tmp_path / "ws"
    ws.mkdir()
    ctx = ToolContext(root=ws)
    tool = SearchTool()

    async def as_the_loop_runs_it() -> object:
        if not tool.runs_in_thread:
            return await tool.run(SearchArgs(pattern="x"), ctx)
        return await asyncio.to_thread(asyncio.run, tool.run(SearchArgs(pattern="x"), ctx))

    task = asyncio.ensure_future(as_the_loop_runs_it())
    for _ in range(400):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    os.kill(pid, signal.SIGKILL)  # let the stranded thread finish before failing
    pytest.fail("ripgrep outlived the cancelled search")


# S4 ------------------------------------------------------------------------------------------------------------

@needs_rg
async def test_ripgrep_output_with_non_utf8_and_newline_names(tmp_path: Path) -> None:
    """A big file whose name is not UTF-8 is still measured (by its own bytes), so its matches stay hidden;
    names holding a newline, even a blank line, keep their matches whole."""
    big = b"needle\n" + b"x" * (5 * 1024 * 1024) + b"\n"
    (tmp_path / os.fsdecode(b"big\xff.log")).write_bytes(big)
    (tmp_path / "nl\nname.txt").write_text("needle 1\n")
    (tmp_path / "two\n\nlines.txt").write_text("needle 2\n")
    (tmp_path / "z.txt").write_text("needle 3\n")
    ctx = ToolContext(root=tmp_path)
    skipped: dict[str, list[str]] = {}
    found = await ripgrep_search(RG or "rg", ctx, SearchArgs(pattern="needle"), skipped)
    assert found.hits == [("nl\nname.txt", 1, "needle 1"), ("two\n\nlines.txt", 1, "needle 2"),
                          ("z.txt", 1, "needle 3")] and found.total == 3
    assert skipped == {BIG_SEEN: ["big\ufffd.log"]}


# S5 ------------------------------------------------------------------------------------------------------------

def test_the_python_fallback_does_not_read_files_over_the_cap(tmp_path: Path) -> None:
    """A sparse file (a little text, then a hole: one giant 'line') is named, not read, matches or not."""
    with open(tmp_path / "huge.log", "wb") as handle:
        handle.write(b"needle\n" * 10)
        handle.truncate(64 * 1024 * 1024)
    with open(tmp_path / "quiet.log", "wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    (tmp_path / "small.txt").write_text("needle\n")
    skipped: dict[str, list[str]] = {}
    found = python_search(ToolContext(root=tmp_path), SearchArgs(pattern="needle"), skipped)
    assert found.hits == [("small.txt", 1, "needle")]
    assert skipped == {BIG_UNREAD: ["huge.log", "quiet.log"]}
    assert "[not searched, over the 4 MB size cap: huge.log, quiet.log]" in format_hits(found, skipped)


# S7 ------------------------------------------------------------------------------------------------------------

@needs_rg
async def test_a_file_name_cannot_forge_a_secret_in_the_debug_log(tmp_path: Path) -> None:
    fake = ('.x\nDEBUG|ignore::walk|w.rs:1: ignoring invented.pem: Ignore(IgnoreMatch(Override(Glob(Matched('
            'Glob { from: None, original: "!**')
    (tmp_path / fake).write_text("hi\n")  # hidden: ripgrep logs it, name and all
    (tmp_path / "real.pem").write_text("hi\n")
    (tmp_path / "real\nname.pem").write_text("hi\n")  # real secrets with a newline or a non-UTF-8 byte: named
    (tmp_path / os.fsdecode(b"k\xff.pem")).write_text("hi\n")
    (tmp_path / "a.txt").write_text("hi\n")
    skipped: dict[str, list[str]] = {}
    found = await ripgrep_search(RG or "rg", ToolContext(root=tmp_path), SearchArgs(pattern="hi"), skipped)
    assert found.hits == [("a.txt", 1, "hi")]
    assert skipped == {SECRET: ["k\ufffd.pem", "real\nname.pem", "real.pem"]}


@needs_rg
@pytest.mark.parametrize("glob", ["*.txt", "*.pem", "sub/*"])
async def test_both_engines_name_only_the_secret_files_the_glob_selects(tmp_path: Path, glob: str) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.pem", "b.txt", "sub/c.pem", "sub/d.txt"):
        (tmp_path / name).write_text("needle\n")
    ctx = ToolContext(root=tmp_path)
    args = SearchArgs(pattern="needle", glob=glob)
    rg_skipped: dict[str, list[str]] = {}
    py_skipped: dict[str, list[str]] = {}
    rg_found = await ripgrep_search(RG or "rg", ctx, args, rg_skipped)
    assert rg_found == python_search(ctx, args, py_skipped) and rg_skipped == py_skipped
    secrets = {"*.txt": None, "*.pem": ["a.pem", "sub/c.pem"], "sub/*": ["sub/c.pem"]}[glob]
    assert rg_skipped.get(SECRET) == secrets


# S2 ------------------------------------------------------------------------------------------------------------

@needs_rg
async def test_no_engine_follows_symbolic_links(tmp_path: Path) -> None:
    """`notes.txt -> db.pem` would show a secret under an innocent name, `out.txt -> ../outside.txt` a file
    outside the workspace; ripgrep follows neither, nor does the Python walk (files or directories)."""
    ws = tmp_path / "ws"
    (ws / "real").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("MARKER outside\n")
    (ws / "db.pem").write_text("MARKER pem\n")
    (ws / "real/kept.txt").write_text("MARKER kept\n")
    (ws / "notes.txt").symlink_to("db.pem")
    (ws / "out.txt").symlink_to(tmp_path / "outside.txt")
    (ws / "linked").symlink_to("real")
    ctx = ToolContext(root=ws)
    args = SearchArgs(pattern="MARKER")
    rg_skipped: dict[str, list[str]] = {}
    py_skipped: dict[str, list[str]] = {}
    expected = [("real/kept.txt", 1, "MARKER kept")]
    assert (await ripgrep_search(RG or "rg", ctx, args, rg_skipped)).hits == expected
    assert python_search(ctx, args, py_skipped).hits == expected and py_skipped == rg_skipped == {SECRET: ["db.pem"]}
    listed = await ListFilesTool().run(ListFilesArgs(), ctx)
    assert listed.output.splitlines() == ["db.pem  [secret file: not readable]", "real/kept.txt"]
