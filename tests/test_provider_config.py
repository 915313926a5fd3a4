"""Provider behaviour comes from config entries only: a built-in model configured under another name
(and another wire id) is called exactly alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.catalog import BUILTIN_MODELS
from agent.config import Config
from agent.messages import SystemMessage, ToolMessage, UserMessage
from agent.providers.factory import make_provider
from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn
from fixtures.fakeapi.models import BUILTIN as FAKE_MODELS
from tests.conftest import KEYS, make_config
from tools.registry import ToolBox, default_tools

TOOLS = ToolBox(default_tools()).schemas
BASE = [SystemMessage(content="You are a test."), UserMessage(content="fix it")]
ALIAS = "house-model"


def script() -> list[Turn]:
    return [Turn(reasoning="read it first", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "a.py"})],
                 omit_usage=True),
            Turn(content="fixed", omit_usage=True)]


async def conversation(config: Config, model: str) -> list[Any]:
    """Two turns (a tool call with reasoning, then an answer); returns both results."""
    provider = make_provider(config, model, environ=KEYS, cache_key="duet-same")
    first = await provider.complete(BASE, TOOLS)
    call = first.message.tool_calls[0]
    history = [*BASE, first.message, ToolMessage(tool_call_id=call.id, name=call.name, content="x = 1")]
    second = await provider.complete(history, TOOLS)
    await provider.close()
    return [first, second]


def normalised(server: FakeAPI, wire_id: str) -> str:
    return json.dumps(server.requests).replace(f'"{wire_id}"', '"WIRE-ID"')


@pytest.mark.parametrize("builtin", sorted(BUILTIN_MODELS))
async def test_builtin_model_under_another_name_sends_identical_requests(tmp_path: Path, builtin: str) -> None:
    entry = dict(BUILTIN_MODELS[builtin])
    wire = str(entry.get("api_model") or builtin)
    alias_wire = f"{ALIAS}-wire"
    with FakeAPI(script()) as original, FakeAPI(script(), models={alias_wire: FAKE_MODELS[wire]}) as aliased:
        config = make_config(tmp_path, original.base_url)
        results = await conversation(config, builtin)
        provider = dict(config.providers[str(entry["provider"])].model_dump())
        provider["base_url"] = aliased.base_url
        alias_config = make_config(tmp_path, aliased.base_url, providers={"house": provider},
                                   models={ALIAS: {**entry, "provider": "house", "api_model": alias_wire}})
        alias_results = await conversation(alias_config, ALIAS)
    assert normalised(original, wire) == normalised(aliased, alias_wire)
    assert [r.usage for r in results] == [r.usage for r in alias_results]  # same tokenizer, same counts
    assert original.violations == [] and aliased.violations == []


def test_no_decision_anywhere_on_a_model_name_prefix() -> None:
    root = Path(__file__).resolve().parent.parent
    offenders = [str(p.relative_to(root)) for folder in ("agent", "fixtures", "tools", "tui")
                 for p in (root / folder).rglob("*.py")
                 if 'startswith("deepseek' in p.read_text() or 'startswith("gpt' in p.read_text()]
    assert offenders == []
