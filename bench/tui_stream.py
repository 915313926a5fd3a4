"""How the TUI keeps up: a fast stream, and heavy tool work, while someone types.

1. Stream: 20,000 tokens at 500 tokens/s into the conversation view. Reports how far the rendered Markdown lags
   behind what has arrived (worst, 95th percentile, at the end; target: worst < 100 ms) and the keystroke latency
   while it streams (a key every 100 ms into the input area).
2. Tools: the real agent loop (scripted model on the fake server, full-auto) takes the git checkpoint of a large
   repository (--files files, default 50,000) and runs the Python-fallback search over a file of --lines lines,
   while a key is typed every 20 ms. Reports keystroke latency p50/p99/worst (target: p99 < 50 ms), how long each
   step took, and how long the same steps stop the screen when run on the UI loop (as before).

Runs the real app headless (Textual's run_test). The machine's load average is printed with the figures (the
figures depend on what else runs).

Run: python bench/tui_stream.py [--tokens 20000] [--rate 500] [--files 50000] [--lines 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from textual import events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' app builder

from agent.checkpoint import Checkpoint
from agent.events import MessageDelta, ToolFinished, TurnStarted, UserMessageEvent
from agent.transcript import read_transcript
from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn
from tests.tui_helpers import make_app
from tools.search import SearchArgs, python_search
from tui.app import AgentEvent
from tui.conversation import AnswerBlock, ConversationView
from tui.prompt import PromptInput

CHARS_PER_TOKEN = 4
TOKENS_PER_CHUNK = 3


def markdown_text(tokens: int) -> str:
    parts = []
    i = 0
    while sum(len(p) for p in parts) < tokens * CHARS_PER_TOKEN:
        parts.append(f"## Step {i}\n\nThe parser reads **token {i}** and checks `state[{i}]` before it moves on. "
                     "It keeps the last good position so an error can point at it.\n\n"
                     f"- first, look at item {i}\n- then compare it with the previous one\n\n"
                     f"```python\ndef step_{i}(tokens):\n    return tokens[{i}:]  # slice\n```\n\n")
        i += 1
    return "".join(parts)[: tokens * CHARS_PER_TOKEN]


async def run(tokens: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeAPI([]) as server:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        app = make_app(repo, server.base_url)
        app.gc_control = True  # as in a real terminal (tui.gc_pause)
        text = markdown_text(tokens)
        chunk = TOKENS_PER_CHUNK * CHARS_PER_TOKEN
        pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)]
        interval = TOKENS_PER_CHUNK / rate
        async with app.run_test(size=(120, 40)) as pilot:
            app.post_message(AgentEvent(UserMessageEvent(content="explain the parser")))
            app.post_message(AgentEvent(TurnStarted(turn=1, model="deepseek-v4-pro", reason="bench")))
            await pilot.pause()
            posted: list[tuple[float, int]] = []  # (time, characters posted so far)
            lags: list[float] = []
            keys: list[float] = []
            done = asyncio.Event()

            def rendered() -> int:
                view = app.query_one(ConversationView)
                return sum(len(block.markdown_source) for block in view.query(AnswerBlock))

            async def monitor() -> None:
                while not done.is_set() or rendered() < len(text):
                    have = rendered()
                    now = time.perf_counter()
                    # lag: how long ago the text now on screen had all arrived, vs what has arrived since
                    arrived_at = next((t for t, n in posted if n >= have), now) if have else now
                    newest = posted[-1][0] if posted else now
                    lags.append(max(0.0, newest - arrived_at) if have < (posted[-1][1] if posted else 0) else 0.0)
                    await asyncio.sleep(0.05)

            async def typist() -> None:
                keys.extend(await _type_while(app.query_one(PromptInput), lambda: not done.is_set(), every=0.1))

            watchers = [asyncio.create_task(monitor()), asyncio.create_task(typist())]
            started = time.perf_counter()
            total = 0
            for n, piece in enumerate(pieces):
                target = started + n * interval
                delay = target - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                total += len(piece)
                posted.append((time.perf_counter(), total))
                app.post_message(AgentEvent(MessageDelta(turn=1, kind="text", text=piece)))
            stream_end = time.perf_counter()
            done.set()
            while rendered() < len(text):
                await asyncio.sleep(0.01)
            caught_up = time.perf_counter()
            await asyncio.gather(*watchers)
        duration = stream_end - started
        print(f"streamed {tokens:,} tokens in {duration:.1f} s ({tokens / duration:.0f} tokens/s, "
              f"{len(pieces):,} deltas)")
        print(f"render lag: worst {max(lags) * 1000:.0f} ms (target < 100 ms), "
              f"p95 {statistics.quantiles(lags, n=20)[-1] * 1000:.0f} ms, "
              f"caught up {(caught_up - stream_end) * 1000:.0f} ms after the last delta")
        print(f"keystroke latency during the stream: p50 {statistics.median(keys) * 1000:.1f} ms, "
              f"p99 {_percentile(keys, 0.99) * 1000:.1f} ms, worst {max(keys) * 1000:.1f} ms over {len(keys)} keys")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _git(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="b@x")
    subprocess.run(["git", *args], cwd=repo, check=True, env=env, capture_output=True)


def large_repo(root: Path, files: int, lines: int) -> Path:
    """A committed repository of `files` source files, plus `big.log` (`lines` lines) and a changed tree, so
    that the checkpoint (`git add -A` of everything into its own index) has real work to do."""
    repo = root / "large"
    for i in range(files):
        directory = repo / f"pkg{i // 500:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"mod{i:05d}.py").write_text("".join(f"def f{i}_{n}(x):\n    return x * {n}\n"
                                                         for n in range(40)))
    with (repo / "big.log").open("w") as out:
        for n in range(lines):
            out.write(f"{n:06d} served {n % 97}ms\n")  # ~3 MB: under the search's 4 MB cap per file
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "large")
    for i in range(0, files, 10):  # uncommitted edits: the checkpoint hashes them again
        path = repo / f"pkg{i // 500:03d}" / f"mod{i:05d}.py"
        path.write_text(path.read_text() + "# edited\n")
    return repo


async def run_tools(files: int, lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        repo = large_repo(Path(tmp), files, lines)
        print(f"\nlarge repository: {files:,} files + big.log of {lines:,} lines "
              f"(built in {time.perf_counter() - started:.1f} s)")
        calls = [ScriptedCall(name="write_file", arguments={"path": "notes.txt", "content": "checkpoint first\n"}),
                 # No line matches: every one of the file's lines is read and tried.
                 ScriptedCall(name="search", arguments={"pattern": r"served 1\d\dms$", "path": "big.log"})]
        # Without ripgrep on PATH the search is the Python fallback (the case this measures).
        saved_path = os.environ["PATH"]
        os.environ["PATH"] = os.pathsep.join(p for p in saved_path.split(os.pathsep)
                                             if not (Path(p) / "rg").exists())
        with FakeAPI([Turn(tool_calls=calls), Turn(content="done")]) as server:
            # The repository context (map/pack of the whole tree) is another measure (bench/context_bench.py).
            app = make_app(repo, server.base_url, approval="full-auto", context={"enabled": False})
            app.gc_control = True  # as in a real terminal (tui.gc_pause)
            finished: dict[str, float] = {}
            async with app.run_test(size=(120, 40)) as pilot:
                prompt = app.query_one(PromptInput)
                await pilot.pause()
                app._send("work on the large repository")
                await pilot.pause()
                t0 = time.perf_counter()
                keys = await _type_while(prompt, app.busy)
                elapsed = time.perf_counter() - t0
                # For comparison: the same two steps run on the UI loop, as they did before they moved to threads.
                session = app.duet.session  # type: ignore[union-attr]
                inline = Checkpoint(session.workspace, "bench-inline", lambda _text: None)

                def blocking() -> None:
                    inline.ensure([], opaque=False)
                    python_search(session.tool_context, SearchArgs(pattern=r"served 1\d\dms$", path="big.log"))

                stall_started = time.perf_counter()
                blocking()  # on the loop: nothing else runs meanwhile, a key typed now waits it out
                stall = time.perf_counter() - stall_started
                for event in read_transcript(app.duet.session.transcript.path):  # type: ignore[union-attr]
                    if isinstance(event, ToolFinished):
                        finished[event.name] = event.duration_s
                engine = "rg" if shutil.which("rg") else "python fallback"
        os.environ["PATH"] = saved_path
        print(f"turn with checkpoint + search took {elapsed:.1f} s "
              f"(write_file incl. checkpoint {finished.get('write_file', 0):.2f} s, "
              f"search [{engine}] {finished.get('search', 0):.2f} s)")
        print(f"keystroke latency meanwhile: p50 {_percentile(keys, 0.5) * 1000:.1f} ms, "
              f"p99 {_percentile(keys, 0.99) * 1000:.1f} ms, worst {max(keys) * 1000:.1f} ms over {len(keys)} keys "
              "(target p99 < 50 ms)")
        print(f"the same checkpoint + search run on the UI loop (before): the screen stops for {stall * 1000:.0f} ms, "
              "so a key typed as they start waits that long")


async def _type_while(prompt: PromptInput, going: Callable[[], bool], every: float = 0.02) -> list[float]:
    """A key every `every` seconds while `going()`; returns how long each took to reach the input."""
    keys: list[float] = []
    while going():
        before = len(prompt.text)
        sent = time.perf_counter()
        prompt.post_message(events.Key("x", "x"))
        while len(prompt.text) == before:
            await asyncio.sleep(0.0005)
        keys.append(time.perf_counter() - sent)
        await asyncio.sleep(every)
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--files", type=int, default=50_000, help="files in the large repository")
    parser.add_argument("--lines", type=int, default=200_000, help="lines of the file searched")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    asyncio.run(run(args.tokens, args.rate))
    asyncio.run(run_tools(args.files, args.lines))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
