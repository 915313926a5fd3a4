"""tests/scripted.py: the in-process scripted model drives the real agent (build_agent's router, tools, session)
and checks what it is sent the way the fake server does."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from agent.outcome import Outcome
from agent.providers.errors import BadRequest
from agent.runtime import build_agent
from agent.session import Session
from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.conftest import KEYS, make_config
from tests.helpers import NOWHERE, of_type, scripted_agent
from tests.scripted import Script, ScriptedModel


async def test_a_scripted_run_edits_the_workspace_through_the_real_tools(repo: Path) -> None:
    turns = [Turn(reasoning="look first", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"})]),
             Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": "new.txt", "content": "made\n"}),
                              ScriptedCall(name="shell", arguments={"command": "echo ran > ran.txt"})]),
             Turn(content="all done", usage=ScriptedUsage(prompt_tokens=1000, cache_hit_tokens=600,
                                                          completion_tokens=20))]
    async with scripted_agent(repo, turns) as (agent, events, script):
        assert (await agent.run("make new.txt")).outcome is Outcome.DONE
    assert (repo / "new.txt").read_text() == "made\n" and (repo / "ran.txt").read_text() == "ran\n"
    assert script.violations == [] and script.served == 3 and len(script.requests) == 3
    # the read's result went back to the model, answering its call; the first request held the task
    assert "make new.txt" in script.requests[0].text()
    answers = [m for m in script.requests[1].messages if isinstance(m, ToolMessage)]
    assert len(answers) == 1 and "hello" in answers[0].content
    assert of_type(events, "assistant.message")[-1].message.content == "all done"
    last = of_type(events, "usage")[-1].record
    assert (last.input_tokens, last.cache_hit_tokens, last.output_tokens) == (1000, 600, 20)


async def test_a_fault_is_the_providers_error_and_the_loop_falls_back_then_gives_up(repo: Path) -> None:
    async with scripted_agent(repo, [Turn(fault="503")]) as (agent, _events, script):
        assert (await agent.run("anything")).outcome is Outcome.DONE  # the fallback took the next turn
    assert script.requests[0].model == "deepseek-v4-pro" and len(script.requests) == 2
    assert script.requests[1].model != "deepseek-v4-pro" and script.violations == ["request after the script ran out"]
    async with scripted_agent(repo, [Turn(fault="503") for _ in range(6)]) as (agent, _events, script):
        assert (await agent.run("anything")).outcome is Outcome.UNAVAILABLE
    assert script.served == 0


async def test_the_tool_schemas_and_the_turn_limit_reach_the_script(repo: Path) -> None:
    looping = [Turn(tool_calls=[ScriptedCall(name="list_files", arguments={})]) for _ in range(5)]
    async with scripted_agent(repo, looping, max_turns=2) as (agent, _events, script):
        assert (await agent.run("list forever")).outcome is Outcome.TURN_LIMIT
    assert len(script.requests) == 2 and script.violations == []
    assert {t["function"]["name"] for t in script.requests[0].tools} >= {"read_file", "shell", "apply_patch"}


def _model(repo: Path, script: Script) -> ScriptedModel:
    return ScriptedModel(script, "deepseek-v4-pro", make_config(repo, NOWHERE))


async def test_an_unanswered_or_repeated_tool_call_is_refused_like_the_real_api(repo: Path) -> None:
    call = ToolCall(id="call_1", name="list_files", arguments="{}")
    asked = [SystemMessage(content="s"), UserMessage(content="u"),
             AssistantMessage(content="", reasoning="r", reasoning_origin="deepseek", tool_calls=(call,))]
    script = Script([Turn(content="never played")])
    with pytest.raises(BadRequest, match="not answered"):
        await _model(repo, script).complete([*asked, UserMessage(content="again")], [])
    answered = [*asked, ToolMessage(tool_call_id="call_1", name="list_files", content="x")]
    with pytest.raises(BadRequest, match="Duplicate value for 'tool_call_id'"):
        await _model(repo, script).complete([*answered, *answered[2:]], [])
    assert script.served == 0 and len(script.violations) == 2
    result = await _model(repo, script).complete(answered, [])
    assert result.message.content == "never played" and result.finish_reason == "stop"


async def test_truncation_and_forbidden_text_are_reported(repo: Path) -> None:
    script = Script([Turn(content="cut", truncated=True)], forbidden=["sk-secret"])
    result = await _model(repo, script).complete([UserMessage(content="u sk-secret")], [])
    assert result.truncated and result.finish_reason == "length"
    assert script.violations == ["forbidden text reached the API: 'sk-secret'"]


def test_wire_only_turns_are_refused_with_a_pointer_to_the_fake_server() -> None:
    with pytest.raises(ValueError, match="fake server"):
        Script([Turn(content="x", as_text=True)])


async def test_build_agent_uses_the_given_clients_and_still_checks_keys(repo: Path) -> None:
    session = Session(repo, make_config(repo, NOWHERE, model="deepseek-v4-pro"))
    script = Script([Turn(content="hi")])
    try:
        agent, pool = build_agent(session, lambda *_: None, environ=KEYS, clients=script.clients(session.config))  # type: ignore[arg-type]
        assert isinstance(pool("deepseek-v4-pro"), ScriptedModel)
        assert (await agent.run("hello")).outcome is Outcome.DONE
        await pool.aclose()
        assert pool("deepseek-v4-pro").closed  # type: ignore[attr-defined]
    finally:
        session.close()
    from agent.errors import MissingKeyError

    bare = Session(repo, make_config(repo, NOWHERE, model="deepseek-v4-pro"))
    try:
        with pytest.raises(MissingKeyError):
            build_agent(bare, lambda *_: None, environ={}, clients=script.clients(bare.config))  # type: ignore[arg-type]
    finally:
        bare.close()
