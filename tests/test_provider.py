"""The provider layer against the fake server, over real HTTP, through the real openai client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.messages import AssistantMessage, ImagePart, SystemMessage, ToolMessage, UserMessage
from agent.providers.base import ModelClient
from agent.providers.errors import AuthError, BadRequest, ProviderUnavailable, RateLimited
from agent.providers.factory import make_provider
from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.conftest import KEYS, TEST_KEY, make_config
from tools.registry import ToolBox, default_tools

TOOLS = ToolBox(default_tools()).schemas
BASE = [SystemMessage(content="You are a test."), UserMessage(content="fix it")]


def provider(tmp_path: Path, base_url: str, model: str = "deepseek-v4-pro", notices: list[str] | None = None,
             sleeps: list[float] | None = None, api: str | None = None, **retry: float) -> ModelClient:
    """A provider for `model` from the real config; `api` overrides the wire API configured for it."""
    config = make_config(tmp_path, base_url, **({"models": {model: {"api": api}}} if api else {}))
    for key, value in retry.items():
        setattr(config.retry, key, value)
    p = make_provider(config, model, environ=KEYS, on_notice=(notices.append if notices is not None else None))
    if sleeps is not None:
        async def record(delay: float) -> None:
            sleeps.append(delay)
        p.runner.sleep = record  # type: ignore[attr-defined]  # the delay chosen is what we check
    return p


async def test_deepseek_repeated_ids_and_names_accumulate_cleanly(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(reasoning="two reads", tool_calls=[
        ScriptedCall(name="read_file", arguments={"path": "a_rather_long_file_name.py", "offset": 10}),
        ScriptedCall(name="search", arguments={"pattern": "def main", "glob": "*.py"})])])
    result = await provider(tmp_path, server.base_url).complete(BASE, TOOLS)
    calls = result.message.tool_calls
    assert [c.name for c in calls] == ["read_file", "search"]
    assert calls[0].id != calls[1].id and calls[0].id.count("call_") == 1
    assert calls[0].arguments == '{"path": "a_rather_long_file_name.py", "offset": 10}'
    assert result.message.reasoning == "two reads"


async def test_openai_sends_ids_once_and_still_accumulates(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files", arguments={"glob": "**/*.py"})])])
    result = await provider(tmp_path, server.base_url, "gpt-5.5", api="chat").complete(BASE, TOOLS)
    assert result.message.tool_calls[0].name == "list_files"
    assert result.message.tool_calls[0].arguments == '{"glob": "**/*.py"}'


async def test_reasoning_is_echoed_to_deepseek_and_never_sent_to_openai(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(reasoning="r1", tool_calls=[ScriptedCall(name="list_files")]), Turn(content="done"),
                       Turn(content="also done")])
    ds = provider(tmp_path, server.base_url)
    first = await ds.complete(BASE, TOOLS)
    call = first.message.tool_calls[0]
    history = [*BASE, first.message, ToolMessage(tool_call_id=call.id, name=call.name, content="a.py")]
    await ds.complete(history, TOOLS)
    sent = server.requests[1]["messages"][2]
    assert sent["reasoning_content"] == "r1"
    assert all(m["role"] != "developer" for m in server.requests[1]["messages"])
    assert "tool_choice" not in server.requests[1]
    await provider(tmp_path, server.base_url, "gpt-5.5", api="chat").complete(history, TOOLS)
    assert "reasoning_content" not in server.requests[2]["messages"][2]
    assert "thinking" not in server.requests[2]
    assert server.violations == []


async def test_missing_reasoning_echo_is_refused_like_deepseek(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="never reached")])
    history = [*BASE, AssistantMessage(content="hi", reasoning="secret thoughts", model="gpt-5.5")]
    # Our wire layer echoes an empty reasoning for other models' turns, so this is accepted...
    await provider(tmp_path, server.base_url).complete(history, TOOLS)
    assert server.requests[0]["messages"][2]["reasoning_content"] == ""
    # ...while a request without the field is refused with DeepSeek's own message.
    bare = dict(server.requests[0])
    bare["messages"] = [dict(m) for m in bare["messages"]]
    del bare["messages"][2]["reasoning_content"]
    import httpx2

    reply = httpx2.post(f"{server.base_url}/chat/completions", json=bare, headers={"Authorization": "Bearer x"})
    assert reply.status_code == 400 and "reasoning_content" in reply.json()["error"]["message"]


async def test_gpt55_reasoning_effort_omitted_with_tools_kept_without(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="a"), Turn(content="b")])
    gpt = provider(tmp_path, server.base_url, "gpt-5.5", api="chat")
    await gpt.complete(BASE, TOOLS)
    await gpt.complete(BASE, [])
    assert "reasoning_effort" not in server.requests[0] and server.requests[0]["tools"]
    assert server.requests[1]["reasoning_effort"] == "medium"
    assert server.violations == []


async def test_images_never_reach_a_text_only_model(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="a"), Turn(content="b")])
    shot = UserMessage(content="what is wrong?", images=(ImagePart(data_url="data:image/png;base64,AAAA",
                                                                   description="a red error banner"),))
    await provider(tmp_path, server.base_url).complete([BASE[0], shot], [])
    await provider(tmp_path, server.base_url, "gpt-5.5", api="chat").complete([BASE[0], shot], [])
    assert "a red error banner" in server.requests[0]["messages"][1]["content"]
    assert "image_url" not in str(server.requests[0])
    assert server.requests[1]["messages"][1]["content"][1]["type"] == "image_url"
    assert server.violations == []


async def test_usage_parsed_in_both_shapes(tmp_path: Path, fake_api) -> None:
    exact = ScriptedUsage(prompt_tokens=5000, cache_hit_tokens=4096, completion_tokens=300, reasoning_tokens=120)
    server = fake_api([Turn(content="a", usage=exact), Turn(content="b", usage=exact)])
    ds = await provider(tmp_path, server.base_url).complete(BASE, [])
    gpt = await provider(tmp_path, server.base_url, "gpt-5.5", api="chat").complete(BASE, [])
    for result in (ds, gpt):
        assert (result.usage.input_tokens, result.usage.cache_hit_tokens) == (5000, 4096)
        assert (result.usage.output_tokens, result.usage.reasoning_tokens) == (300, 120)
        assert result.usage.estimated is False
    assert server.requests[0]["stream_options"] == {"include_usage": True}


async def test_stream_without_usage_is_estimated_and_marked(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="a fairly long answer " * 20, omit_usage=True)])
    result = await provider(tmp_path, server.base_url).complete(BASE, TOOLS)
    assert result.usage.estimated is True
    assert result.usage.input_tokens > 500  # the tool schemas alone are several hundred tokens
    assert result.usage.output_tokens > 50


async def test_429_honours_retry_after_then_succeeds(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="429", retry_after=7), Turn(content="ok")])
    sleeps: list[float] = []
    notices: list[str] = []
    result = await provider(tmp_path, server.base_url, sleeps=sleeps, notices=notices).complete(BASE, [])
    assert result.message.content == "ok" and result.attempts == 2
    assert sleeps == [7.0]
    assert "429" in notices[0]


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_server_errors_are_retried(tmp_path: Path, fake_api, fault: str) -> None:
    server = fake_api([Turn(fault=fault), Turn(fault=fault), Turn(content="ok")])
    sleeps: list[float] = []
    result = await provider(tmp_path, server.base_url, sleeps=sleeps).complete(BASE, [])
    assert result.message.content == "ok" and len(sleeps) == 2
    assert sleeps[1] > sleeps[0]  # exponential backoff


async def test_retries_are_capped(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="503")] * 3)
    with pytest.raises(ProviderUnavailable, match="503"):
        await provider(tmp_path, server.base_url, sleeps=[], max_retries=2).complete(BASE, [])
    assert len(server.requests) == 3


async def test_rate_limit_after_retries_is_its_own_type(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="429", retry_after=1)] * 2)
    with pytest.raises(RateLimited):
        await provider(tmp_path, server.base_url, sleeps=[], max_retries=1).complete(BASE, [])


async def test_cut_stream_is_retried_as_a_whole_turn(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="cut", reasoning="half a thought"), Turn(content="complete", reasoning="whole")])
    deltas: list[tuple[str, str]] = []
    result = await provider(tmp_path, server.base_url, sleeps=[]).complete(BASE, [],
                                                                           lambda k, t: deltas.append((k, t)))
    assert result.message.content == "complete" and result.message.reasoning == "whole"
    assert ("reset", "") in deltas
    after_reset = deltas[deltas.index(("reset", "")) + 1:]
    assert "".join(t for k, t in after_reset if k == "text") == "complete"


async def test_keepalive_comments_are_tolerated(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="ok", keepalive=5)])
    result = await provider(tmp_path, server.base_url).complete(BASE, [])
    assert result.message.content == "ok"


async def test_keepalives_do_not_extend_the_deadline(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="late", keepalive=40, keepalive_interval_s=0.05)])
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="within"):
        await provider(tmp_path, server.base_url, sleeps=[], call_deadline_s=0.6, max_retries=0).complete(BASE, [])
    assert time.monotonic() - started < 1.8


async def test_400_is_not_retried_and_carries_the_provider_message(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="400", error_message="Invalid 'messages[3]': bad things")])
    with pytest.raises(BadRequest) as err:
        await provider(tmp_path, server.base_url, sleeps=[]).complete(BASE, [])
    assert "Invalid 'messages[3]': bad things" in str(err.value)
    assert len(server.requests) == 1


async def test_auth_error_never_shows_the_key(tmp_path: Path, fake_api) -> None:
    server = fake_api([], api_key="the-right-key")
    with pytest.raises(AuthError) as err:
        await provider(tmp_path, server.base_url).complete(BASE, [])
    assert TEST_KEY not in str(err.value) and "401" in str(err.value)


async def test_unreachable_server_becomes_provider_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable):
        await provider(tmp_path, "http://127.0.0.1:9/v1", sleeps=[], max_retries=1).complete(BASE, [])


async def test_text_written_tool_call_is_recovered(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="Let me look. ", as_text=True,
                            tool_calls=[ScriptedCall(name="read_file", arguments={"path": "calc.py"})])])
    result = await provider(tmp_path, server.base_url).complete(BASE, TOOLS)
    assert result.recovered_text_calls
    assert result.message.content == "Let me look."
    assert result.message.tool_calls[0].name == "read_file"
    assert result.message.tool_calls[0].arguments == '{"path": "calc.py"}'


async def test_malformed_arguments_pass_through_for_the_loop_to_report(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments='{"path": "calc.py"')])])
    result = await provider(tmp_path, server.base_url).complete(BASE, TOOLS)
    assert result.message.tool_calls[0].arguments == '{"path": "calc.py"'


async def test_usage_estimate_works_for_prompts_over_a_million_characters(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="ok", omit_usage=True)])
    huge = [SystemMessage(content="x = 1\n" * 250_000), UserMessage(content="go")]  # 1.5M characters
    result = await provider(tmp_path, server.base_url).complete(huge, [])
    assert result.usage.estimated and result.usage.input_tokens > 200_000 and result.attempts == 1
