"""Both models through one gateway key (OpenRouter's dialect), as the README shows it."""

from __future__ import annotations

import json
from pathlib import Path

from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, Turn
from tests.helpers import make_agent

READ = ScriptedCall(name="read_file", arguments={"path": "README.md"})


def gateway(base_url: str) -> dict[str, object]:
    """The README's OpenRouter configuration, pointed at the fake server."""
    return {"providers": {"openrouter": {"dialect": "openrouter", "api": "chat", "base_url": base_url,
                                         "api_key_env": "OPENAI_API_KEY"}},
            "models": {"deepseek-v4-pro": {"provider": "openrouter", "api_model": "deepseek/deepseek-v4-pro"},
                       "gpt-5.5": {"provider": "openrouter", "api_model": "openai/gpt-5.5"}}}


async def test_reasoning_details_go_back_to_the_gateway_and_effort_is_sent(repo: Path, fake_api) -> None:
    models = {"deepseek/deepseek-v4-pro": "openrouter", "openai/gpt-5.5": "openrouter"}
    server = fake_api([Turn(reasoning="Reading the readme will tell me.", tool_calls=[READ]),
                       Turn(content="It says hello."),
                       Turn(reasoning="Check again.", tool_calls=[READ]), Turn(content="Still hello.")],
                      models=models)
    agent, pool, _ = make_agent(repo, server.base_url, model="deepseek-v4-pro", context={"enabled": False},
                                     **gateway(server.base_url))
    assert (await agent.run("what does the readme say?")).outcome is Outcome.DONE
    await pool.aclose()
    agent2, pool2, _ = make_agent(repo, server.base_url, model="gpt-5.5", context={"enabled": False},
                                  **gateway(server.base_url))
    assert (await agent2.run("and now?")).outcome is Outcome.DONE
    await pool2.aclose()
    assert [r["model"] for r in server.requests] == ["deepseek/deepseek-v4-pro"] * 2 + ["openai/gpt-5.5"] * 2
    assistant = next(m for m in server.requests[1]["messages"] if m["role"] == "assistant")
    details = assistant["reasoning_details"]
    assert [d["text"] for d in details] == ["Reading the readme will tell me."]  # pieces merged by index
    assert details[0]["signature"] == "sig-or" and "reasoning_content" not in assistant
    assert agent.session.messages[1].reasoning == "Reading the readme will tell me."  # shown as reasoning
    assert server.requests[2]["reasoning"] == {"effort": "medium"} and server.requests[2]["tools"]
    assert "max_tokens" in server.requests[2] and "max_completion_tokens" not in server.requests[2]
    assert "thinking" not in json.dumps(server.requests[0])
    assert server.violations == []  # the server checked every assistant turn for its reasoning_details


def test_fake_gateway_records_reasoning_details_left_out(fake_api) -> None:
    import httpx2

    server = fake_api([Turn(reasoning="think", tool_calls=[READ]), Turn(content="ok")], models={"m": "openrouter"})
    url, auth = f"{server.base_url}/chat/completions", {"Authorization": "Bearer k"}
    user = {"role": "user", "content": "hi"}
    first = httpx2.post(url, json={"model": "m", "messages": [user], "stream": True,
                                   "stream_options": {"include_usage": True}}, headers=auth)
    chunks = [json.loads(line[6:]) for line in first.text.splitlines() if line.startswith("data: {")]
    call_id = next(t["id"] for c in chunks for ch in c["choices"] for t in ch["delta"].get("tool_calls", []))
    history = [user, {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "hello"}]
    httpx2.post(url, json={"model": "m", "messages": history, "stream": True,
                           "stream_options": {"include_usage": True}}, headers=auth)
    assert server.violations == [f"reasoning_details of tool calls ['{call_id}'] were not sent back"]
