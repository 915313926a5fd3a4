"""Our conversation → a Responses API request body (`instructions` + `input` items, flat tools).

Reasoning is replayed only to the model that produced it: encrypted reasoning items (and the output
item ids of the function calls they belong to) go back, in order, right before the item they preceded,
when the message's `reasoning_origin` is this model's origin; every other model's turns are sent as plain
messages and calls (DeepSeek's reasoning text never reaches OpenAI).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agent.catalog import Effort, ModelConfig
from agent.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from agent.providers.base import FREEFORM_ARGUMENT, ToolSchema
from agent.providers.wire import image_notes, shows_images

INCLUDE = ["reasoning.encrypted_content"]


def responses_origin(provider: str, api_model: str) -> str:
    """The tag on messages whose encrypted reasoning only this provider's model may receive again."""
    return f"responses:{provider}/{api_model}"


def flat_tools(tools: Sequence[ToolSchema]) -> list[dict[str, Any]]:
    """Chat-style `{"type": "function", "function": {...}}` → Responses' flat function tools."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        fn = tool.get("function")
        if isinstance(fn, dict):
            out.append({"type": "function", "name": fn["name"], "description": fn.get("description", ""),
                        "parameters": fn.get("parameters", {"type": "object", "properties": {}})})
        else:
            out.append({k: v for k, v in tool.items() if k != FREEFORM_ARGUMENT})
    return out


def freeform_arguments(tools: Sequence[ToolSchema]) -> dict[str, str]:
    """Freeform tools by name → the argument their text fills."""
    return {str(t["name"]): str(t[FREEFORM_ARGUMENT]) for t in tools
            if t.get("type") == "custom" and FREEFORM_ARGUMENT in t}


def freeform_call_arguments(argument: str, text: str) -> str:
    """A freeform call's input as the JSON arguments the tool box parses."""
    return json.dumps({argument: text}, ensure_ascii=False)


def _freeform_input(arguments: str, argument: str) -> str:
    """The text a call of a freeform tool carried (calls made as function calls, by any model, included)."""
    try:
        data = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return arguments
    value = data.get(argument) if isinstance(data, dict) else None
    return value if isinstance(value, str) else arguments


def input_items(messages: Sequence[Message], origin: str, images: bool,
                freeform: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every non-system message as Responses input items, in order. Calls of a tool sent as freeform
    (`freeform`: name → argument) go back as `custom_tool_call` items, their results as `custom_tool_call_output`,
    whichever model made them, so the history matches the tools the model is given."""
    freeform = freeform or {}
    items: list[dict[str, Any]] = []
    custom: set[str] = set()
    for msg in messages:
        if isinstance(msg, UserMessage):
            items.append({"role": "user", "content": _user_content(msg, images)})
        elif isinstance(msg, AssistantMessage):
            items += _assistant_items(msg, msg.reasoning_origin == origin, freeform)
            custom |= {c.id for c in msg.tool_calls if c.name in freeform}
        elif isinstance(msg, ToolMessage):
            kind = "custom_tool_call_output" if msg.tool_call_id in custom else "function_call_output"
            items.append({"type": kind, "call_id": msg.tool_call_id, "output": msg.content})
    return items


def _user_content(msg: UserMessage, images: bool) -> list[dict[str, Any]]:
    if not msg.images:
        return [{"type": "input_text", "text": msg.content}]
    if not shows_images(msg, images):
        return [{"type": "input_text", "text": image_notes(msg)}]
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": msg.content}]
    parts += [{"type": "input_image", "image_url": img.data_url, "detail": "auto"} for img in msg.images]
    return parts


def _assistant_items(msg: AssistantMessage, own: bool, freeform: Mapping[str, str]) -> list[dict[str, Any]]:
    reasoning = msg.reasoning_items if own else ()
    call_ids = {c.id for c in msg.tool_calls}

    def reasoning_before(target: str) -> list[dict[str, Any]]:
        return [{"type": "reasoning", "id": r.id, "encrypted_content": r.encrypted_content,
                 "summary": [{"type": "summary_text", "text": s} for s in r.summary]}
                for r in reasoning if r.before == target or (target == "" and r.before not in call_ids)]

    items = reasoning_before("")
    if msg.content:
        items.append({"role": "assistant", "content": [{"type": "output_text", "text": msg.content}]})
    for call in msg.tool_calls:
        items += reasoning_before(call.id) if call.id else []
        item: dict[str, Any]
        if call.name in freeform:
            item = {"type": "custom_tool_call", "call_id": call.id, "name": call.name,
                    "input": _freeform_input(call.arguments, freeform[call.name])}
        else:
            item = {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments}
        if own and call.item_id:
            item["id"] = call.item_id
        items.append(item)
    return items


def responses_body(api_model: str, spec: ModelConfig, origin: str, messages: Sequence[Message],
                   tools: Sequence[ToolSchema], *, effort: Effort | None, max_output_tokens: int | None,
                   cache_key: str) -> dict[str, Any]:
    """Keyword arguments of `client.responses.create` for one streaming call."""
    instructions = "\n\n".join(m.content for m in messages if isinstance(m, SystemMessage))
    body: dict[str, Any] = {
        "model": api_model,
        "input": input_items(messages, origin, spec.images, freeform_arguments(tools)),
        "stream": True,
        "store": False,
        "include": list(INCLUDE),
        "max_output_tokens": max_output_tokens or spec.max_output_tokens,
    }
    if instructions:
        body["instructions"] = instructions
    if tools:
        body["tools"] = flat_tools(tools)
    effort = effort or spec.reasoning_effort
    if effort:
        reasoning: dict[str, str] = {"effort": effort}
        if spec.reasoning_summary:
            reasoning["summary"] = spec.reasoning_summary
        body["reasoning"] = reasoning
    if cache_key:
        body["prompt_cache_key"] = cache_key
    return body
