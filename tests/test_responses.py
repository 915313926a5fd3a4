"""The Responses API path against the fake server's strict Responses dialect, over real HTTP."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.instructions.toolset import tool_schemas
from agent.messages import AssistantMessage, ImagePart, SystemMessage, ToolCall, ToolMessage, UserMessage
from agent.providers.base import ModelClient
from agent.providers.errors import BadRequest, RateLimited
from agent.providers.factory import make_provider
from agent.spend.prices import PriceTable
from agent.spend.usage import price_usage
from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.conftest import KEYS, make_config
from tools.registry import ToolBox, default_tools

TOOLS = ToolBox(default_tools()).schemas
BASE = [SystemMessage(content="You are a test."), UserMessage(content="fix it")]
READ = ScriptedCall(name="read_file", arguments={"path": "calc.py"})
LIST = ScriptedCall(name="list_files", arguments={"glob": "*.py"})


def gpt(tmp_path: Path, base_url: str, model: str = "gpt-5.5", sleeps: list[float] | None = None,
        cache_key: str = "duet-s1", **retry: float) -> ModelClient:
    config = make_config(tmp_path, base_url)
    for key, value in retry.items():
        setattr(config.retry, key, value)
    p = make_provider(config, model, environ=KEYS, cache_key=cache_key)
    if sleeps is not None:
        async def record(delay: float) -> None:
            sleeps.append(delay)
        p.runner.sleep = record  # type: ignore[attr-defined]
    return p


async def test_request_shape_instructions_input_flat_tools_reasoning_and_no_storage(tmp_path: Path,
                                                                                    fake_api) -> None:
    server = fake_api([Turn(content="hello")])
    await gpt(tmp_path, server.base_url).complete(BASE, TOOLS)
    body = server.requests[0]
    assert body["instructions"] == "You are a test."
    assert body["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "fix it"}]}]
    assert all("function" not in t and t["name"] and t["parameters"] for t in body["tools"])
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
    assert body["max_output_tokens"] == 128_000 and body["prompt_cache_key"] == "duet-s1"
    for chat_only in ("messages", "reasoning_effort", "max_tokens", "stream_options"):
        assert chat_only not in body
    assert server.violations == []


async def test_encrypted_reasoning_is_replayed_in_order_before_the_item_it_preceded(tmp_path: Path,
                                                                                  fake_api) -> None:
    server = fake_api([Turn(reasoning="I should read both.", tool_calls=[READ, LIST]), Turn(content="done")])
    p = gpt(tmp_path, server.base_url)
    deltas: list[tuple[str, str]] = []
    first = await p.complete(BASE, TOOLS, lambda k, t: deltas.append((k, t)))
    message = first.message
    assert message.reasoning == "I should read both."  # the summary, shown like DeepSeek's reasoning
    assert "".join(t for k, t in deltas if k == "reasoning") == "I should read both."
    assert [r.before for r in message.reasoning_items] == [c.id for c in message.tool_calls]
    assert all(r.encrypted_content for r in message.reasoning_items)  # from output_item.done, not .added
    history = [*BASE, message, *[ToolMessage(tool_call_id=c.id, name=c.name, content="x")
                                 for c in message.tool_calls]]
    await p.complete(history, TOOLS)
    kinds = [(i.get("type") or i["role"], i.get("id", "")) for i in server.requests[1]["input"]]
    assert [k for k, _ in kinds] == ["user", "reasoning", "function_call", "reasoning", "function_call",
                                     "function_call_output", "function_call_output"]
    assert kinds[1][1] == message.reasoning_items[0].id and kinds[2][1] == message.tool_calls[0].item_id
    assert server.violations == []


async def test_usage_from_response_completed_priced_to_the_micro_dollar(tmp_path: Path, fake_api) -> None:
    exact = ScriptedUsage(prompt_tokens=50_000, cache_hit_tokens=40_000, cache_write_tokens=8_000,
                          completion_tokens=2_000, reasoning_tokens=1_500)
    server = fake_api([Turn(content="a", usage=exact)])
    result = await gpt(tmp_path, server.base_url).complete(BASE, [])
    usage = result.usage
    assert (usage.input_tokens, usage.cache_hit_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        50_000, 40_000, 2_000, 1_500)
    assert not usage.estimated
    record = price_usage("gpt-5.5", usage, PriceTable.builtin())
    # 10,000 uncached (cache writes among them) × $5 + 40,000 cached × $0.50 + 2,000 × $30, per million
    assert record.cost_usd == Decimal("0.05") + Decimal("0.02") + Decimal("0.06")


async def test_images_are_input_image_parts(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="red")])
    shot = UserMessage(content="colour?", images=(ImagePart(data_url="data:image/png;base64,AAAA"),))
    await gpt(tmp_path, server.base_url).complete([BASE[0], shot], [])
    parts = server.requests[0]["input"][0]["content"]
    assert parts[1] == {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"}
    assert server.violations == []


async def test_gpt55_pro_works_only_through_responses(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="pro answer")])
    result = await gpt(tmp_path, server.base_url, "gpt-5.5-pro").complete(BASE, TOOLS)
    assert result.message.content == "pro answer" and server.requests[0]["reasoning"]["effort"] == "high"
    config = make_config(tmp_path, server.base_url, models={"gpt-5.5-pro": {"api": "chat"}})
    chat = make_provider(config, "gpt-5.5-pro", environ=KEYS)
    with pytest.raises(BadRequest, match="only supported in v1/responses"):
        await chat.complete(BASE, TOOLS)


async def test_429_retry_after_ms_and_cut_stream_are_retried_like_chat(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="429", retry_after_ms=1500), Turn(fault="cut", reasoning="half"),
                       Turn(content="whole")])
    sleeps: list[float] = []
    deltas: list[tuple[str, str]] = []
    result = await gpt(tmp_path, server.base_url, sleeps=sleeps).complete(BASE, [],
                                                                          lambda k, t: deltas.append((k, t)))
    assert result.message.content == "whole" and result.attempts == 3
    assert sleeps[0] == 1.5 and ("reset", "") in deltas


async def test_rate_limit_after_retries_is_its_own_type(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(fault="429", retry_after_ms=10)] * 2)
    with pytest.raises(RateLimited):
        await gpt(tmp_path, server.base_url, sleeps=[], max_retries=1).complete(BASE, [])


async def test_incomplete_status_is_surfaced_as_truncation(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="the first half of a long ans", truncated=True)])
    result = await gpt(tmp_path, server.base_url).complete(BASE, [], max_output_tokens=64)
    assert result.truncated and result.truncated_reason == "max_output_tokens"
    assert result.finish_reason == "incomplete" and result.message.content.startswith("the first half")
    assert server.requests[0]["max_output_tokens"] == 64


async def test_escalated_effort_is_sent(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="ok")])
    await gpt(tmp_path, server.base_url).complete(BASE, TOOLS, effort="high")
    assert server.requests[0]["reasoning"]["effort"] == "high"


# --- apply_patch as a freeform (custom) tool with its grammar, as Codex sends it --------------------------------

PATCH = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n*** End Patch\n"


def gpt_tools(tmp_path: Path, base_url: str) -> list[dict[str, object]]:
    config = make_config(tmp_path, base_url)
    return tool_schemas(ToolBox(default_tools()), config.models["gpt-5.5"], config.api_of("gpt-5.5"))


async def test_freeform_apply_patch_goes_out_with_its_grammar_and_comes_back_as_the_patch_argument(
        tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(reasoning="Patch it.", tool_calls=[ScriptedCall(name="apply_patch", arguments=PATCH)]),
                       Turn(content="done")])
    tools = gpt_tools(tmp_path, server.base_url)
    p = gpt(tmp_path, server.base_url)
    first = (await p.complete(BASE, tools)).message
    sent = next(t for t in server.requests[0]["tools"] if t["name"] == "apply_patch")
    assert sent["type"] == "custom" and sent["format"]["syntax"] == "lark" and "*** Begin Patch" in sent[
        "format"]["definition"]
    assert set(sent) == {"type", "name", "description", "format"}  # our own bookkeeping key is never sent
    call = first.tool_calls[0]
    assert call.name == "apply_patch" and json.loads(call.arguments) == {"patch": PATCH}
    assert call.item_id.startswith("ctc_")
    _, args = ToolBox(default_tools()).parse(call.name, call.arguments)  # the tool box parses it as any call
    assert args.patch == PATCH
    history = [*BASE, first, ToolMessage(tool_call_id=call.id, name=call.name, content="applied")]
    await p.complete(history, tools)
    items = server.requests[1]["input"]
    assert [i.get("type") or i["role"] for i in items] == ["user", "reasoning", "custom_tool_call",
                                                          "custom_tool_call_output"]
    assert items[2]["input"] == PATCH and items[2]["id"] == call.item_id and "arguments" not in items[2]
    assert server.violations == []


async def test_a_deepseek_patch_call_reaches_gpt_as_a_custom_tool_call(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="reviewed")])
    deepseek_call = ToolCall(id="call_ds1", name="apply_patch", arguments=json.dumps({"patch": PATCH}))
    history = [*BASE, AssistantMessage(content="", model="deepseek-v4-pro", tool_calls=(deepseek_call,)),
               ToolMessage(tool_call_id="call_ds1", name="apply_patch", content="applied")]
    await gpt(tmp_path, server.base_url).complete(history, gpt_tools(tmp_path, server.base_url))
    items = server.requests[0]["input"]
    assert items[1] == {"type": "custom_tool_call", "call_id": "call_ds1", "name": "apply_patch", "input": PATCH}
    assert items[2]["type"] == "custom_tool_call_output"
    assert server.violations == []


async def test_the_fake_server_refuses_a_broken_freeform_tool_and_a_mismatched_output(tmp_path: Path,
                                                                                     fake_api) -> None:
    import httpx2

    server = fake_api([])
    base = {"model": "gpt-5.5", "store": False, "stream": True, "include": ["reasoning.encrypted_content"],
            "max_output_tokens": 100, "prompt_cache_key": "k"}
    user = {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}

    def post(**body: object) -> tuple[int, str]:
        reply = httpx2.post(f"{server.base_url}/responses", json={**base, **body},
                            headers={"Authorization": "Bearer k"})
        return reply.status_code, reply.json()["error"]["message"] if reply.status_code != 200 else ""

    no_grammar = {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark"}}
    assert post(input=[user], tools=[no_grammar]) == (400, "Missing required parameter: 'tools[0].format.definition'.")
    leaked = {**no_grammar, "format": {**no_grammar["format"], "definition": "start: x"}, "x-duet-argument": "p"}
    assert post(input=[user], tools=[leaked])[0] == 400
    call = {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": PATCH}
    wrong = {"type": "function_call_output", "call_id": "c1", "output": "ok"}
    status, message = post(input=[user, call, wrong])
    assert (status, message) == (400, "No tool call found for function_call_output with call_id c1.")
