"""The fake server refuses what the real APIs refuse, and records what breaks our own rules."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from fixtures.fakeapi import Turn
from fixtures.fakeapi.validate import DEEPSEEK_REASONING_MISSING, GPT_EFFORT_WITH_TOOLS

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)


def refused(base_url: str, **request: object) -> str:
    with pytest.raises(openai.BadRequestError) as err:
        client(base_url).chat.completions.create(**request)  # type: ignore[call-overload]
    return str(err.value)


def test_unanswered_tool_call_is_refused(fake_api) -> None:
    server = fake_api([Turn(content="x")])
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [CALL],
                                                    "reasoning_content": ""}, {"role": "user", "content": "and?"}]
    assert "not answered" in refused(server.base_url, model="deepseek-v4-pro", messages=messages)


def test_deepseek_refuses_missing_reasoning_developer_role_images_and_tool_choice(fake_api) -> None:
    server = fake_api([])
    url = server.base_url
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
               {"role": "user", "content": "more"}]
    assert DEEPSEEK_REASONING_MISSING in refused(url, model="deepseek-v4-flash", messages=history)
    assert "developer" in refused(url, model="deepseek-v4-flash", messages=[{"role": "developer", "content": "x"}])
    image = [{"role": "user", "content": [{"type": "text", "text": "see"},
                                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}]
    assert "image_url" in refused(url, model="deepseek-v4-pro", messages=image)
    assert "tool_choice" in refused(url, model="deepseek-v4-pro", messages=[{"role": "user", "content": "x"}],
                                    tools=[TOOL], tool_choice="required")


def test_gpt55_refuses_reasoning_effort_with_tools(fake_api) -> None:
    server = fake_api([])
    assert GPT_EFFORT_WITH_TOOLS in refused(server.base_url, model="gpt-5.5", reasoning_effort="high",
                                           messages=[{"role": "user", "content": "x"}], tools=[TOOL])


def test_rule_breaches_are_recorded(fake_api) -> None:
    server = fake_api([Turn(content="a")], forbidden=["AKIAABCDEFGHIJKLMNOP"])
    client(server.base_url).chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "key AKIAABCDEFGHIJKLMNOP"}], stream=True)
    assert "forbidden text reached the API: 'AKIAABCDEFGHIJKLMNOP'" in server.violations
    assert "streaming request without stream_options.include_usage" in server.violations


def test_turn_for_the_wrong_model_is_a_violation(fake_api) -> None:
    server = fake_api([Turn(model="gpt-5.5", content="a")])
    client(server.base_url).chat.completions.create(model="deepseek-v4-flash",
                                                    messages=[{"role": "user", "content": "x"}])
    assert server.violations == ["turn scripted for gpt-5.5 was requested by deepseek-v4-flash"]


def test_runs_by_hand_from_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text('{"turns": [{"content": "from the script"}]}')
    proc = subprocess.Popen([sys.executable, "-m", "fixtures.fakeapi", "--script", str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        reply = client(url).chat.completions.create(model="deepseek-v4-flash",
                                                    messages=[{"role": "user", "content": "x"}])
        assert reply.choices[0].message.content == "from the script"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
