"""Duet's own cost per turn when the prompt holds a 900K-token pack.

A workspace of real code (Django's own package, from the corpus) is cut to about 900K DeepSeek tokens and
packed whole for deepseek-v4-flash (the reserve lowered so a pack that size is allowed). A scripted session
of N turns (search, read, list calls) runs through the real loop, provider, openai client and transcript
against the fake server on 127.0.0.1. The server's own time (reading and checking each 3.6 MB request,
streaming the answer) is measured inside its handler and subtracted, and so is the time the tools themselves
run (ripgrep, reading a file: the same whatever the context size; printed beside). What is left is ours:
building the request and serialising it, estimating usage and cost, events, tool dispatch, the transcript.

Run: python bench/turn_overhead.py [--turns 20] [--repeat 3] [--corpora /work/corpora]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.approval import refuse_headless
from agent.config import load_config
from agent.runtime import build_agent
from agent.session import Session
from agent.tokens import count_o200k
from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn
from fixtures.fakeapi import server as fake_server

KEYS = {"DEEPSEEK_API_KEY": "bench-key"}
PACK_O200K = 850_000  # about 900K DeepSeek tokens
SERVER_TIME = [0.0]
TOOL_TIME = [0.0]


def _timed_handler() -> None:
    """Adds up the fake server's time per request (its work is not ours)."""
    original = fake_server._Handler.do_POST

    def do_post(self) -> None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            original(self)
        finally:
            SERVER_TIME[0] += time.perf_counter() - started

    fake_server._Handler.do_POST = do_post  # type: ignore[method-assign]


def make_workspace(root: Path, source: Path) -> int:
    """Copy Django's package files until about PACK_O200K o200k tokens; returns the count."""
    total = 0
    for path in sorted(source.rglob("*.py")):
        text = path.read_text(errors="replace")
        n = count_o200k(text)
        if total + n > PACK_O200K:
            continue
        dest = root / path.relative_to(source.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        total += n
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "pack"], cwd=root, check=True)
    return total


def script(turns: int) -> list[Turn]:
    cycle = [ScriptedCall(name="search", arguments={"pattern": "def get_", "path": "django/utils"}),
             ScriptedCall(name="read_file", arguments={"path": "django/utils/text.py", "limit": 60}),
             ScriptedCall(name="list_files", arguments={"path": "django/utils"})]
    out = [Turn(reasoning="thinking " * 20, content="step", tool_calls=[cycle[i % 3]]) for i in range(turns - 1)]
    return [*out, Turn(content="done")]


async def one_session(work: Path, home: Path, turns: int) -> tuple[float, float, int]:
    with FakeAPI(script(turns)) as server:
        config = load_config(work, {"model": "deepseek-v4-flash", "approval": "full-auto",
                                    "context": {"reserve_tokens": 40_000}},
                             {"DEEPSEEK_BASE_URL": server.base_url, "HOME": str(home)})
        session = Session(work, config)
        agent, pool = build_agent(session, refuse_headless, environ=KEYS)
        run_tool = agent.toolbox.run

        async def timed_tool(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return await run_tool(*args, **kwargs)
            finally:
                TOOL_TIME[0] += time.perf_counter() - started

        agent.toolbox.run = timed_tool  # type: ignore[method-assign]
        SERVER_TIME[0] = TOOL_TIME[0] = 0.0
        started = time.perf_counter()
        await agent.run("benchmark task")
        total = time.perf_counter() - started
        await pool.aclose()
        session.close()
        assert server.violations == [], server.violations
        system = server.requests[0]["messages"][0]["content"]
        return total, SERVER_TIME[0], TOOL_TIME[0], len(system)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpora", type=Path, default=Path(os.environ.get("DUET_CORPORA", "/work/corpora")))
    args = parser.parse_args()
    source = args.corpora / "django-5.2.19" / "django"
    if not source.is_dir():
        print("Django corpus missing: python bench/context_bench.py --fetch", file=sys.stderr)
        return 2
    _timed_handler()
    one, five, fifteen = os.getloadavg()
    print(f"before: load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        work, home = Path(tmp) / "work", Path(tmp) / "home"
        work.mkdir()
        home.mkdir()
        o200k = make_workspace(work, source)
        asyncio.run(one_session(work, home, 3))  # first session: counts the pack (cached) and warms imports
        per_turn = []
        for _ in range(args.repeat):
            total, server, tools, chars = asyncio.run(one_session(work, home, args.turns))
            ours = (total - server - tools) / args.turns * 1000
            per_turn.append(ours)
            print(f"session: {total * 1000:7.1f} ms, server {server * 1000:7.1f} ms, tools running "
                  f"{tools * 1000:6.1f} ms, ours {ours:6.2f} ms/turn; system prompt {chars / 1e6:.2f} M chars")
        shutil.rmtree(work / ".duet", ignore_errors=True)
    one, five, fifteen = os.getloadavg()
    print(f"pack: {o200k:,} o200k tokens (~{int(o200k * 1.06):,} DeepSeek); Duet's overhead per turn over "
          f"{args.turns}-turn sessions: median {statistics.median(per_turn):.1f} ms (min {min(per_turn):.1f}, "
          f"max {max(per_turn):.1f}); target ≤ 50 ms")
    print(f"after: load average {one:.2f} {five:.2f} {fifteen:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
