"""How the TUI keeps up with a fast stream: 20,000 tokens at 500 tokens/s into the conversation view.

Reports how far the rendered Markdown lags behind what has arrived (worst, 95th percentile, and at the
end), and the worst keystroke latency while it streams (a key every 100 ms into the input area).
Runs the real app headless (Textual's run_test), fed the same events the agent emits.

Run: python bench/tui_stream.py [--tokens 20000] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual import events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' app builder

from agent.events import MessageDelta, TurnStarted, UserMessageEvent
from fixtures.fakeapi import FakeAPI
from tests.tui_helpers import make_app
from tui.app import AgentEvent
from tui.conversation import AnswerBlock, AssistantItem, ConversationView
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
                return (sum(len(block.markdown_source) for block in view.query(AnswerBlock))
                        + sum(len(item.source) for item in view.query(AssistantItem)))

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
                prompt = app.query_one(PromptInput)
                while not done.is_set():
                    before = len(prompt.text)
                    started = time.perf_counter()
                    prompt.post_message(events.Key("x", "x"))
                    while len(prompt.text) == before:
                        await asyncio.sleep(0.0005)
                    keys.append(time.perf_counter() - started)
                    await asyncio.sleep(0.1)

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
        print(f"render lag: worst {max(lags) * 1000:.0f} ms, p95 {statistics.quantiles(lags, n=20)[-1] * 1000:.0f} ms, "
              f"caught up {(caught_up - stream_end) * 1000:.0f} ms after the last delta")
        print(f"keystroke latency during the stream: worst {max(keys) * 1000:.1f} ms, "
              f"median {statistics.median(keys) * 1000:.1f} ms over {len(keys)} keys")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    asyncio.run(run(args.tokens, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
