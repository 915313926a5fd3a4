"""Output limits, truncated answers and small windows, through the real loop over real HTTP."""

from __future__ import annotations

from pathlib import Path

import prompts
from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, Turn
from fixtures.fakeapi.models import FakeModel
from tests.helpers import make_agent, of_type

READ = ScriptedCall(name="read_file", arguments={"path": "README.md"})
CONTINUE = prompts.load("continue_truncated").strip()


def tiny(base_url: str, window: int = 4096, max_output: int = 4096) -> dict[str, object]:
    """Config of a small local model on a plain OpenAI-compatible server (llama.cpp-like)."""
    return {"providers": {"local": {"dialect": "compatible", "base_url": base_url,
                                    "api_key_env": "DEEPSEEK_API_KEY"}},
            "models": {"tiny-local": {"provider": "local", "context_window": window,
                                      "max_output_tokens": max_output}}}


async def test_chat_answer_cut_mid_way_is_continued_once(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="The bug is in the first ha", truncated=True), Turn(content="lf of parse().")])
    agent, pool, events = make_agent(repo, server.base_url, context={"enabled": False})
    assert (await agent.run("find the bug")).outcome is Outcome.DONE
    await pool.aclose()
    cut = of_type(events, "answer.truncated")
    assert len(cut) == 1 and cut[0].continued and cut[0].reason == "max_output_tokens"
    second = server.requests[1]["messages"]
    assert second[-2]["content"] == "The bug is in the first ha" and second[-1]["content"] == CONTINUE
    assert server.requests[0]["max_tokens"] > 0 and server.violations == []


async def test_answer_cut_twice_ends_clearly_not_done(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="part one", truncated=True), Turn(content="part two", truncated=True)])
    agent, pool, events = make_agent(repo, server.base_url, context={"enabled": False})
    assert (run := await agent.run("explain")).outcome is Outcome.NOT_DONE
    await pool.aclose()
    assert "cut while it was still answering" in run.message and "max_output_tokens" in run.message
    assert [e.continued for e in of_type(events, "answer.truncated")] == [True, False]
    assert not of_type(events, "turn.failed") and server.violations == []


async def test_responses_incomplete_mid_answer_continues_and_replays_validly(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[READ]), Turn(content="Half of the ans", truncated=True),
                       Turn(content="wer, finished.")])
    agent, pool, events = make_agent(repo, server.base_url, model="gpt-5.5", context={"enabled": False})
    assert (await agent.run("summarise the readme")).outcome is Outcome.DONE
    await pool.aclose()
    assert of_type(events, "answer.truncated")[0].continued
    assert all(r["max_output_tokens"] <= 128_000 for r in server.requests)
    assert server.violations == []  # reasoning of the cut answer went back valid, calls paired


async def test_responses_cut_inside_a_tool_call_drops_it_and_stops(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[READ], truncated=True)])
    agent, pool, events = make_agent(repo, server.base_url, model="gpt-5.5", context={"enabled": False})
    assert (run := await agent.run("read")).outcome is Outcome.NOT_DONE
    await pool.aclose()
    cut = of_type(events, "answer.truncated")[0]
    assert not cut.continued and cut.dropped_calls == 1 and not of_type(events, "tool.started")
    assert "in the middle of a tool call" in run.message


def many_files(repo: Path, n: int = 150) -> None:
    for i in range(n):
        (repo / f"mod_{i:03d}.py").write_text("".join(
            f"def function_{i}_{j}(argument_one, argument_two):\n    return helper_{j}(argument_one)\n\n"
            for j in range(12)))


async def test_a_4k_window_model_gets_a_prompt_that_fits(repo: Path, fake_api) -> None:
    many_files(repo)
    server = fake_api([Turn(tool_calls=[READ]), Turn(content="done")],
                      models={"tiny-local": FakeModel("compatible", context_window=4096)})
    agent, pool, _ = make_agent(repo, server.base_url, model="tiny-local", **tiny(server.base_url))
    assert (run := await agent.run("what does mod_001 do?")).outcome is Outcome.DONE, run.message
    await pool.aclose()
    # The server refuses (400) any request whose prompt and max_tokens exceed the window.
    assert server.violations == [] and len(server.requests) == 2
    for request in server.requests:
        assert 0 < request["max_tokens"] < 4096
    # With the short tool descriptions a small map fits beside the instructions (the server checked the sizes).
    system = server.requests[0]["messages"][0]["content"]
    assert "<repo_map" in system and len(system) < 4 * 4096


async def test_an_8k_window_model_gets_a_map_scaled_to_its_window(repo: Path, fake_api) -> None:
    many_files(repo)
    server = fake_api([Turn(content="done")], models={"tiny-local": FakeModel("compatible", context_window=8192)})
    agent, pool, events = make_agent(repo, server.base_url, model="tiny-local", **tiny(server.base_url, 8192))
    assert (run := await agent.run("what does mod_001 do?")).outcome is Outcome.DONE, run.message
    await pool.aclose()
    assert server.violations == []
    assert "<repo_map" in server.requests[0]["messages"][0]["content"]
    built = of_type(events, "context.built")[0]
    assert built.kind == "map" and 0 < built.tokens <= 8192 // 8


async def test_a_window_too_small_for_the_prompt_is_refused_before_sending(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="never")])
    agent, pool, _ = make_agent(repo, server.base_url, model="tiny-local", **tiny(server.base_url, 1024, 512))
    assert (run := await agent.run("hello")).outcome is Outcome.NOT_DONE
    await pool.aclose()
    assert "does not fit tiny-local's 1,024-token window" in run.message and server.requests == []


async def test_a_small_window_gets_short_tool_descriptions(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="done"), Turn(content="done")],
                      models={"tiny-local": FakeModel("compatible", context_window=4096)})
    agent, pool, _ = make_agent(repo, server.base_url, model="tiny-local", **tiny(server.base_url))
    assert (run := await agent.run("hi")).outcome is Outcome.DONE, run.message
    await pool.aclose()
    big, pool, _ = make_agent(repo, server.base_url, model="deepseek-v4-flash", context={"enabled": False})
    assert (run := await big.run("hi")).outcome is Outcome.DONE, run.message
    await pool.aclose()
    small_tools, big_tools = ({t["function"]["name"]: t["function"]["description"] for t in r["tools"]}
                              for r in server.requests)
    assert small_tools.keys() == big_tools.keys()
    for name, full in big_tools.items():
        assert full.startswith(small_tools[name]) and small_tools[name].endswith(".")
    assert sum(map(len, small_tools.values())) * 3 < sum(map(len, big_tools.values()))
