"""The fake server's strict Responses dialect refuses exactly what the real API refuses."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn
from fixtures.fakeapi.models import FakeModel

TOOL = {"type": "function", "name": "f", "description": "", "parameters": {"type": "object", "properties": {}}}
USER = {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}


def post(server: FakeAPI, path: str = "/responses", **body: Any) -> httpx2.Response:
    return httpx2.post(f"{server.base_url}{path}", json=body, headers={"Authorization": "Bearer k"})


def error(reply: httpx2.Response) -> str:
    return str(reply.json()["error"]["message"])


def good(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-5.5", "input": [USER], "store": False, "stream": True,
                            "include": ["reasoning.encrypted_content"], "max_output_tokens": 100,
                            "prompt_cache_key": "k", "reasoning": {"effort": "medium", "summary": "auto"}}
    return {**body, **extra}


def test_chat_style_parameters_are_refused(fake_api) -> None:
    server = fake_api([])
    for key, value, moved in (("messages", [{"role": "user", "content": "x"}], "'input'"),
                              ("reasoning_effort", "high", "'reasoning.effort'"),
                              ("max_tokens", 10, "'max_output_tokens'")):
        reply = post(server, **good(**{key: value}))
        assert reply.status_code == 400 and f"Unsupported parameter: '{key}'" in error(reply) and moved in error(reply)
    reply = post(server, **good(stream_options={"include_usage": True}))
    assert reply.status_code == 400 and "stream_options.include_usage" in error(reply)
    reply = post(server, **good(prompt_cache_retention="in_memory"))
    assert reply.status_code == 400 and "'24h'" in error(reply)


def test_nested_tool_schemas_are_refused(fake_api) -> None:
    server = fake_api([])
    nested = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    reply = post(server, **good(tools=[nested]))
    assert reply.status_code == 400 and "tools[0].name" in error(reply)


def test_calls_and_outputs_must_pair(fake_api) -> None:
    server = fake_api([])
    call = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
    output = {"type": "function_call_output", "call_id": "call_1", "output": "ok"}
    reply = post(server, **good(input=[USER, call]))
    assert reply.status_code == 400 and error(reply) == "No tool output found for function call call_1."
    reply = post(server, **good(input=[USER, output]))
    assert reply.status_code == 400 and "No tool call found for function call output with call_id call_1" in error(
        reply)


def test_reasoning_items_must_come_back_whole_and_before_their_call(fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="f")]), Turn(content="ok")])
    first = post(server, **good(tools=[TOOL]))
    done = [line for line in first.text.splitlines() if line.startswith("data:") and "output_item.done" in line]
    rs, fc = (json.loads(line[5:])["item"] for line in done)
    assert rs["type"] == "reasoning" and rs["encrypted_content"] and fc["type"] == "function_call"
    output = {"type": "function_call_output", "call_id": fc["call_id"], "output": "ok"}
    bare_rs = {k: v for k, v in rs.items() if k != "encrypted_content"}
    reply = post(server, **good(tools=[TOOL], input=[USER, bare_rs, fc, output]))
    assert reply.status_code == 404 and f"Item with id '{rs['id']}' not found" in error(reply)
    reply = post(server, **good(tools=[TOOL], input=[USER, fc, output]))
    assert reply.status_code == 400 and error(reply) == (
        f"Item '{fc['id']}' of type 'function_call' was provided without its required 'reasoning' item: "
        f"'{rs['id']}'.")
    forged = {**rs, "encrypted_content": "enc_forged"}
    reply = post(server, **good(tools=[TOOL], input=[USER, forged, fc, output]))
    assert reply.status_code == 400 and "could not be verified" in error(reply)
    # Sent by call id only (no item id): accepted, but the reasoning was lost: our own rule records it.
    no_id = {k: v for k, v in fc.items() if k != "id"}
    assert post(server, **good(tools=[TOOL], input=[USER, no_id, output])).status_code == 200
    assert any("was not passed back" in v for v in server.violations)


def test_our_rules_store_include_reasoning_on_tool_turns(fake_api) -> None:
    server = fake_api([Turn(content="ok")])
    body = good(tools=[TOOL], store=True, include=[])
    del body["reasoning"]
    assert post(server, **body).status_code == 200
    assert any("store is not false" in v for v in server.violations)
    assert any("encrypted_content" in v for v in server.violations)
    assert any("without reasoning.effort" in v for v in server.violations)


def test_gpt55_pro_is_refused_on_chat_completions(fake_api) -> None:
    server = fake_api([])
    reply = post(server, "/chat/completions", model="gpt-5.5-pro", messages=[{"role": "user", "content": "x"}])
    assert reply.status_code == 404 and "only supported in v1/responses" in error(reply)


def test_dialect_comes_from_the_model_table_not_the_name(fake_api) -> None:
    server = fake_api([Turn(content="ok")], models={"local-v4": "deepseek"})
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
               {"role": "user", "content": "again"}]
    reply = post(server, "/chat/completions", model="local-v4", messages=history, stream=True,
                 stream_options={"include_usage": True})
    assert reply.status_code == 400 and "reasoning_content" in error(reply)
    deepseek_named = post(server, "/chat/completions", model="deepseek-lookalike", messages=history, stream=True,
                          stream_options={"include_usage": True})
    assert deepseek_named.status_code == 200  # an unknown name is a plain OpenAI model, whatever its spelling


def test_a_small_window_is_enforced(fake_api) -> None:
    server = fake_api([], models={"tiny": FakeModel("compatible", context_window=100)})
    reply = post(server, "/chat/completions", model="tiny", messages=[{"role": "user", "content": "x" * 800}],
                 max_tokens=10, stream=True, stream_options={"include_usage": True})
    assert reply.status_code == 400 and "maximum context length is 100 tokens" in error(reply)
