"""shell, search, list_files and find_symbol on real processes and files."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tools.search as search_module
from tools.base import ToolContext, ToolError
from tools.find_symbol import FindSymbolArgs, FindSymbolTool
from tools.list_files import ListFilesArgs, ListFilesTool
from tools.output_buffer import HeadTailBuffer
from tools.ripgrep import ripgrep
from tools.search import SearchArgs, SearchTool, python_search, ripgrep_search
from tools.shell import ShellArgs, ShellTool

RG = ripgrep(Path(__file__).resolve().parent)  # the tests' tmp workspaces hold no rg
BIG_SEEN = "matches not shown, over the 4 MB size cap"  # ripgrep searched the big file
BIG_UNREAD = "not searched, over the 4 MB size cap"  # the Python fallback did not read it


def as_python_words(skipped: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """ripgrep's skip report in the Python fallback's words (each big file here holds a match)."""
    return [(BIG_UNREAD if reason == BIG_SEEN else reason, paths) for reason, paths in skipped.items()]


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    root = tmp_path / "ws"
    root.mkdir()
    return ToolContext(root=root, shell_timeout_s=30)


async def sh(ctx: ToolContext, command: str, timeout_s: float | None = None):
    return await ShellTool().run(ShellArgs(command=command, timeout_s=timeout_s), ctx)


async def test_shell_reports_exit_code_and_runs_in_workspace(ctx: ToolContext) -> None:
    result = await sh(ctx, "pwd; echo oops >&2; exit 3")
    assert str(ctx.root) in result.output and "oops" in result.output
    assert result.data["exit_code"] == 3 and "[exit code 3]" in result.output and not result.ok


async def test_shell_stdin_is_closed(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await sh(ctx, "read line; echo \"got:$line:$?\"; cat; python3 -c 'input()'", timeout_s=20)
    assert time.monotonic() - started < 10
    assert "got::1" in result.output and "EOFError" in result.output


async def test_shell_timeout_kills_the_whole_process_group(ctx: ToolContext, tmp_path: Path) -> None:
    marker = tmp_path / "child-survived"
    result = await sh(ctx, f"(sleep 3; touch {marker}) & sleep 60", timeout_s=0.5)
    assert result.data["timed_out"] and "timed out after 0.5 s" in result.output
    time.sleep(3.5)
    assert not marker.exists()


async def test_shell_huge_output_is_bounded_and_shortened(ctx: ToolContext) -> None:
    result = await sh(ctx, "yes 0123456789 | head -c 50000000; echo; echo THE-END")
    assert result.data["output_bytes"] > 50_000_000
    assert len(result.output) < 32_000
    assert result.output.startswith("0123456789") and "THE-END" in result.output
    assert "cut from the middle" in result.output


def test_head_tail_buffer_memory_is_bounded() -> None:
    buf = HeadTailBuffer(head=100, tail=100)
    for _ in range(10_000):
        buf.write(b"x" * 1000)
    buf.write(b"END")
    assert buf.total == 10_000_003
    text = buf.text()
    assert text.endswith("END") and len(text) < 300


async def test_shell_hides_api_keys_from_commands(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-should-not-leak-123456")
    result = await sh(ctx, "env")
    assert "sk-should-not-leak" not in result.output


async def test_shell_returns_when_a_background_child_keeps_the_pipe(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await sh(ctx, "sleep 30 & echo started", timeout_s=20)
    assert "started" in result.output and time.monotonic() - started < 5


@pytest.fixture
def code(ctx: ToolContext) -> ToolContext:
    (ctx.root / ".gitignore").write_text("build/\n*.log\n")
    (ctx.root / "src").mkdir()
    (ctx.root / "src/app.py").write_text("import os\n\n\ndef main():\n    return helper()\n\n\nclass Helper:\n"
                                         "    def run(self):\n        pass\n")
    (ctx.root / "src/util.py").write_text("def helper():\n    return 'Main'\n")
    (ctx.root / "src/web.js").write_text("function main() {}\nconst helper = () => 1;\nclass Box { run() {} }\n")
    (ctx.root / "src/svc.go").write_text("package svc\n\ntype Server struct{}\n\nfunc (s *Server) Run() {}\n"
                                         "func main() {}\n")
    (ctx.root / "build").mkdir()
    (ctx.root / "build/app.py").write_text("def main(): pass\n")
    (ctx.root / "debug.log").write_text("main failed\n")
    (ctx.root / "sub").mkdir()
    (ctx.root / "sub/.gitignore").write_text("local.txt\n")
    (ctx.root / "sub/local.txt").write_text("main\n")
    (ctx.root / "sub/kept.txt").write_text("main\n")
    (ctx.root / ".env").write_text("main=secret\n")
    return ctx


@pytest.mark.skipif(RG is None, reason="ripgrep not installed")
@pytest.mark.parametrize("args", [
    SearchArgs(pattern="main"), SearchArgs(pattern="MAIN", ignore_case=True),
    SearchArgs(pattern="def \\w+", glob="*.py"),
    SearchArgs(pattern="main", path="src"), SearchArgs(pattern="helper", path="src/util.py"),
])
async def test_ripgrep_and_python_fallback_agree(code: ToolContext, args: SearchArgs) -> None:
    rg = await ripgrep_search(RG or "rg", code, args)
    py = python_search(code, args)
    assert rg == py and rg


async def test_search_respects_gitignore_and_skips_secrets(code: ToolContext) -> None:
    result = await SearchTool().run(SearchArgs(pattern="main"), code)
    paths = {line.split(":")[0] for line in result.output.splitlines()}
    assert paths == {"src/app.py", "src/web.js", "src/svc.go", "sub/kept.txt"}
    assert "src/app.py:4: def main():" in result.output


async def test_list_files_respects_gitignore(code: ToolContext) -> None:
    result = await ListFilesTool().run(ListFilesArgs(), code)
    assert result.output.splitlines() == ["src/app.py", "src/svc.go", "src/util.py", "src/web.js", "sub/kept.txt"]
    only_py = await ListFilesTool().run(ListFilesArgs(glob="*.py"), code)
    assert only_py.output.splitlines() == ["src/app.py", "src/util.py"]


async def test_find_symbol_finds_definitions_not_uses(code: ToolContext) -> None:
    result = await FindSymbolTool().run(FindSymbolArgs(name="helper"), code)
    assert result.output.splitlines() == ["src/util.py:1: function helper", "src/web.js:2: function helper"]
    run = await FindSymbolTool().run(FindSymbolArgs(name="Run"), code)
    assert run.output == "src/svc.go:5: method Run"
    server = await FindSymbolTool().run(FindSymbolArgs(name="Server"), code)
    assert server.output == "src/svc.go:3: type Server"


async def test_search_without_ripgrep_uses_python(code: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "ripgrep", lambda _workspace: None)
    result = await SearchTool().run(SearchArgs(pattern="helper"), code)
    assert result.data["engine"] == "python" and "src/util.py:1: def helper():" in result.output


@pytest.mark.skipif(__import__("tools.screenshot", fromlist=["x"]).find_browser() is None,
                    reason="Chromium is not installed")
async def test_screenshot_renders_a_local_page_with_chromium(ctx: ToolContext) -> None:
    from tools.screenshot import ScreenshotArgs, ScreenshotTool

    (ctx.root / "page.html").write_text("<body style='background:#c00'><h1>Build failed</h1></body>")
    seen: list[str] = []

    async def vision(url: str, question: str) -> str:
        seen.append(url)
        return f"answer to: {question}"

    ctx = dataclasses.replace(ctx, vision=vision)
    result = await ScreenshotTool().run(ScreenshotArgs(target="page.html", question="what colour?"), ctx)
    assert result.output == "answer to: what colour?"
    assert seen[0].startswith("data:image/png;base64,") and len(seen[0]) > 1000


async def test_search_lists_skipped_files_in_walk_order(tmp_path: Path) -> None:
    """The skipped files are named in ripgrep's path order (`a/x` before `a-b`), each reason where its
    first file falls, whichever engine runs."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "z.pem").write_text("needle\n")
    (tmp_path / "a-b.key").write_text("needle\n")
    (tmp_path / "b.log").write_text("needle\n" * 700_000)  # over 4 MB
    (tmp_path / "c.txt").write_text("needle\n")
    ctx = ToolContext(root=tmp_path)
    result = await SearchTool().run(SearchArgs(pattern="needle"), ctx)
    assert result.output.splitlines() == ["c.txt:1: needle", "[not searched, secret files: a/z.pem, a-b.key]",
                                          "[matches not shown, over the 4 MB size cap: b.log]"]
    (tmp_path / "0.log").write_text("needle\n" * 700_000)  # now a big file comes first
    expected = ["c.txt:1: needle", "[matches not shown, over the 4 MB size cap: 0.log, b.log]",
                "[not searched, secret files: a/z.pem, a-b.key]"]
    assert (await SearchTool().run(SearchArgs(pattern="needle"), ctx)).output.splitlines() == expected
    skipped: dict[str, list[str]] = {}
    python_search(ctx, SearchArgs(pattern="needle"), skipped)
    rg = RG
    if rg:
        rg_skipped: dict[str, list[str]] = {}
        await ripgrep_search(rg, ctx, SearchArgs(pattern="needle"), rg_skipped)
        assert as_python_words(rg_skipped) == list(skipped.items())


@pytest.mark.skipif(RG is None, reason="ripgrep not installed")
async def test_a_file_named_outright_is_refused_alike_by_both_engines(tmp_path: Path) -> None:
    """A big file named outright: its matches are not shown, by either engine; a secret one is refused."""
    (tmp_path / "big.log").write_text("needle\n" * 700_000)
    (tmp_path / "id.pem").write_text("needle\n")
    ctx = ToolContext(root=tmp_path)
    args = SearchArgs(pattern="needle", path="big.log")
    rg_skipped: dict[str, list[str]] = {}
    py_skipped: dict[str, list[str]] = {}
    assert (await ripgrep_search(RG or "rg", ctx, args, rg_skipped)).hits == []
    assert python_search(ctx, args, py_skipped).hits == []
    assert rg_skipped == {BIG_SEEN: ["big.log"]} and py_skipped == {BIG_UNREAD: ["big.log"]}
    with pytest.raises(ToolError, match="secrets file"):
        await ripgrep_search(RG or "rg", ctx, SearchArgs(pattern="needle", path="id.pem"))


@pytest.mark.skipif(RG is None, reason="ripgrep not installed")
async def test_a_ripgrep_without_the_debug_log_still_names_skipped_files(tmp_path: Path) -> None:
    """The skipped files come from ripgrep's --debug log; a ripgrep that logs nothing there gets a listing."""
    (tmp_path / "a.pem").write_text("needle\n")
    (tmp_path / "b.log").write_text("needle\n" * 700_000)
    (tmp_path / "c.txt").write_text("needle\n")
    quiet = tmp_path.parent / "quiet-rg"
    quiet.write_text(f"#!/bin/sh\n'{RG}' \"$@\" 2>/dev/null\n")
    quiet.chmod(0o755)
    ctx = ToolContext(root=tmp_path)
    expected = {"not searched, secret files": ["a.pem"], "matches not shown, over the 4 MB size cap": ["b.log"]}
    for rg in (RG or "rg", str(quiet)):
        skipped: dict[str, list[str]] = {}
        found = await ripgrep_search(rg, ctx, SearchArgs(pattern="needle"), skipped)
        assert found.hits == [("c.txt", 1, "needle")] and found.total == 1
        assert skipped == expected


def test_ripgrep_beside_the_interpreter_is_found_without_path(tmp_path: Path) -> None:
    """`.venv/bin/agent` run without activating the venv: PATH lacks the venv's bin, where the pinned wheel
    put `rg`; search must still use it rather than fall back to the slow Python scan."""
    beside = Path(sys.executable).parent / "rg"
    if not beside.is_file():
        pytest.skip("no rg installed beside this interpreter")
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    script = "import sys, pathlib, tools.ripgrep as r; print(r.ripgrep(pathlib.Path(sys.argv[1])))"
    found = subprocess.run([sys.executable, "-c", script, str(tmp_path)],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert found == str(beside.resolve())


@pytest.mark.skipif(RG is None, reason="ripgrep not installed")
async def test_both_engines_agree_on_odd_names_ignore_files_counts_and_big_files(tmp_path: Path) -> None:
    """A colon in a file name, a `.ignore` file (git does not read it, so neither engine does), more matches
    than are shown, and a big file without matches (searched by ripgrep: nothing to say; the Python fallback
    stops at the matches it shows before reaching it)."""
    (tmp_path / "a:b.txt").write_text("needle: x\n")
    (tmp_path / ".ignore").write_text("kept.txt\n")
    (tmp_path / "kept.txt").write_text("needle\n")
    (tmp_path / "many.txt").write_text("needle\n" * 250)
    (tmp_path / "quiet.log").write_text("hay\n" * 700_000)  # over the cap, no match
    ctx = ToolContext(root=tmp_path)
    args = SearchArgs(pattern="needle")
    rg_skipped: dict[str, list[str]] = {}
    found = await ripgrep_search(RG or "rg", ctx, args, rg_skipped)
    assert found.total == 252 and not found.more and rg_skipped == {}
    assert found.hits[:3] == [("a:b.txt", 1, "needle: x"), ("kept.txt", 1, "needle"), ("many.txt", 1, "needle")]
    assert len(found.hits) == 201  # enough to show 200 and say there are more
    py_skipped: dict[str, list[str]] = {}
    assert python_search(ctx, args, py_skipped).hits == found.hits and py_skipped == {}
    output = (await SearchTool().run(args, ctx)).output
    assert "[52 more matches not shown; narrow the pattern, path or glob]" in output and "quiet.log" not in output
