"""The agent loop's own overhead per turn, with the model's time taken out.

A scripted 20-turn session (search, read, edit, list calls) runs through the real loop, tools, provider
and openai client against the fake server on 127.0.0.1. Time spent inside the model call (HTTP, server,
stream parsing by the SDK) is measured separately and subtracted; what is left is ours: building the
request, events, transcript writes (fsync included), tool dispatch and execution, the ledger.

Run: python bench/loop_overhead.py [--turns 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agent.approval import refuse_headless
from agent.config import load_config
from agent.runtime import build_agent
from agent.session import Session
from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn

KEYS = {"DEEPSEEK_API_KEY": "bench-key"}


def script(turns: int) -> list[Turn]:
    cycle = [
        [ScriptedCall(name="search", arguments={"pattern": "def ", "glob": "*.py"})],
        [ScriptedCall(name="read_file", arguments={"path": "mod.py"})],
        [ScriptedCall(name="list_files", arguments={})],
    ]
    out = [Turn(reasoning="thinking " * 20, content="step", tool_calls=cycle[i % 3]) for i in range(turns - 1)]
    return [*out, Turn(content="done")]


def make_repo(root: Path) -> None:
    for i in range(30):
        (root / f"m{i}.py").write_text("".join(f"def f{j}(x):\n    return x + {j}\n\n" for j in range(40)))
    (root / "mod.py").write_text("def target():\n    return 1\n" * 50)


class Timed:
    """Wraps a provider, adding up the time spent waiting for the model."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.model_time = 0.0

    async def complete(self, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return await self.inner.complete(*args, **kwargs)  # type: ignore[attr-defined]
        finally:
            self.model_time += time.perf_counter() - started


async def one_session(turns: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp, FakeAPI(script(turns)) as server:
        root = Path(tmp)
        make_repo(root)
        config = load_config(root, {"model": "deepseek-v4-pro", "approval": "full-auto"},
                             {"DEEPSEEK_BASE_URL": server.base_url, "HOME": tmp})
        session = Session(root, config)
        agent, pool = build_agent(session, refuse_headless, environ=KEYS)
        timed: dict[str, Timed] = {}

        def clients(model: str) -> Timed:
            if model not in timed:
                timed[model] = Timed(pool(model))
            return timed[model]

        agent.calls._clients = clients  # measure around the real provider
        started = time.perf_counter()
        await agent.run("benchmark task")
        total = time.perf_counter() - started
        await pool.aclose()
        session.close()
        assert server.violations == [], server.violations
        return total, sum(t.model_time for t in timed.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(one_session(3))  # warm imports and caches
    per_turn = []
    for _ in range(args.repeat):
        total, model = asyncio.run(one_session(args.turns))
        per_turn.append((total - model) / args.turns * 1000)
        print(f"session: {total * 1000:7.1f} ms total, {model * 1000:7.1f} ms in model calls, "
              f"{(total - model) / args.turns * 1000:5.2f} ms/turn loop overhead")
    print(f"loop overhead per turn over {args.turns}-turn sessions: median {statistics.median(per_turn):.2f} ms "
          f"(min {min(per_turn):.2f}, max {max(per_turn):.2f}); target < 20 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
