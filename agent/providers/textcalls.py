"""Recover tool calls that a DeepSeek model wrote as text instead of sending as function calls."""

from __future__ import annotations

import json
import re

from agent.messages import ToolCall

CALLS_BEGIN = "<｜tool▁calls▁begin｜>"
_CALL = re.compile(r"<｜tool▁call▁begin｜>(.*?)<｜tool▁call▁end｜>", re.S)
_SEP = "<｜tool▁sep｜>"
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.S)


def has_text_tool_calls(content: str) -> bool:
    return CALLS_BEGIN in content


def recover_text_tool_calls(content: str) -> tuple[str, list[ToolCall]]:
    """Split `content` into the prose before the markup and the tool calls written in it.

    Handles both layouts DeepSeek models emit:
    `function<｜tool▁sep｜>NAME\\n```json\\n{...}\\n```` and `NAME<｜tool▁sep｜>{...}`.
    """
    start = content.find(CALLS_BEGIN)
    if start < 0:
        return content, []
    prose, markup = content[:start].rstrip(), content[start:]
    calls: list[ToolCall] = []
    for n, body in enumerate(_CALL.findall(markup)):
        if _SEP not in body:
            continue
        head, rest = body.split(_SEP, 1)
        if head.strip() == "function":
            name, _, args = rest.partition("\n")
        else:
            name, args = head, rest
        fenced = _FENCE.match(args)
        args = (fenced.group(1) if fenced else args).strip() or "{}"
        calls.append(ToolCall(id=f"call_text_{n}", name=name.strip(), arguments=_normalise(args)))
    return prose, calls


def _normalise(args: str) -> str:
    try:
        return json.dumps(json.loads(args))
    except json.JSONDecodeError:
        return args  # left as is: the loop reports the parse error to the model
