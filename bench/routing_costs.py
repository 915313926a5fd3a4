"""What one scripted mixed session costs under each routing profile, and all on GPT-5.5, side by side.

The same 20-turn session (searches, reads of large files, edits, one screenshot question) runs through
the real loop, tools, router and provider against the fake server on 127.0.0.1. The fake server counts
prompt tokens from the request size and cache hits from the prefix shared with the previous request of
the same model, as DeepSeek (64-token units) and OpenAI (128-token units above 1,024) do; the ledger
prices them with the dated price table.

Run: python bench/routing_costs.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from agent.approval import refuse_headless
from agent.config import load_config
from agent.runtime import build_agent
from agent.session import Session
from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' image helper
from tests.helpers import tiny_png

KEYS = {"DEEPSEEK_API_KEY": "bench", "OPENAI_API_KEY": "bench"}
RUNS = [("cheap", {"route": "cheap"}), ("balanced", {"route": "balanced"}), ("best", {"route": "best"}),
        ("all on gpt-5.5", {"model": "gpt-5.5"})]


def make_repo(root: Path) -> None:
    for i in range(6):
        body = "".join(f"def handler_{i}_{j}(request):\n    return render(request, 'page_{j}.html')\n\n"
                       for j in range(180))
        (root / f"views_{i}.py").write_text(body)
    tiny_png(root / "screenshot.png")


def script() -> list[Turn]:
    turns: list[Turn] = []
    for i in range(6):
        turns.append(Turn(reasoning="Looking for the handler. " * 8, tool_calls=[
            ScriptedCall(name="search", arguments={"pattern": f"handler_{i}_1\\b"})]))
        turns.append(Turn(reasoning="Reading the file. " * 8, tool_calls=[
            ScriptedCall(name="read_file", arguments={"path": f"views_{i}.py"})]))
    turns.append(Turn(tool_calls=[ScriptedCall(name="view_image", arguments={
        "path": "screenshot.png", "question": "What does the error banner say?"})]))
    turns.append(Turn(content="The banner says 'Template page_7.html not found'. " * 3))  # the vision answer
    for i in range(6):
        turns.append(Turn(reasoning="Fixing the template name. " * 8, tool_calls=[
            ScriptedCall(name="edit_file", arguments={
                "path": f"views_{i}.py", "old_string": f"def handler_{i}_7(request):\n    return render(request, "
                                                       f"'page_7.html')",
                "new_string": f"def handler_{i}_7(request):\n    return render(request, 'pages/page_7.html')"})]))
    turns.append(Turn(content="Fixed the template path in all six views."))
    return turns


async def one_run(overrides: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, FakeAPI(script()) as server:
        root = Path(tmp)
        make_repo(root)
        env = {"DEEPSEEK_BASE_URL": server.base_url, "OPENAI_BASE_URL": server.base_url, "HOME": tmp}
        config = load_config(root, {"approval": "full-auto", **overrides}, env)
        session = Session(root, config)
        agent, pool = build_agent(session, refuse_headless, environ=KEYS)
        await agent.run("Fix the broken template path shown in screenshot.png.")
        await pool.aclose()
        session.close()
        assert server.violations == [], server.violations
        return {m: float(s.cost_usd) for m, s in session.ledger.by_model().items()}


def main() -> int:
    results = [(name, asyncio.run(one_run(overrides))) for name, overrides in RUNS]
    models = sorted({m for _, spend in results for m in spend})
    reference = sum(results[-1][1].values())
    header = f"{'profile':<16}" + "".join(f"{m:>20}" for m in models) + f"{'total':>12}{'vs all-GPT':>12}"
    print(header)
    for name, spend in results:
        total = sum(spend.values())
        cells = "".join(f"{f'${spend[m]:.4f}' if m in spend else '-':>20}" for m in models)
        print(f"{name:<16}{cells}{f'${total:.4f}':>12}{total / reference:>11.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
