"""Our conversation → a Chat Completions request body, valid for the dialect that receives it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.catalog import Dialect, ModelConfig
from agent.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage


def wire_messages(messages: Sequence[Message], dialect: Dialect, images: bool) -> list[dict[str, Any]]:
    """Messages as the dialect expects them.

    DeepSeek gets `reasoning_content` on every assistant turn (empty for turns other models wrote);
    OpenAI never sees it. A text-only model gets an image's description instead of the image.
    """
    out: list[dict[str, Any]] = []
    for msg in messages:
        if isinstance(msg, SystemMessage):
            out.append({"role": "system", "content": msg.content})
        elif isinstance(msg, UserMessage):
            out.append({"role": "user", "content": _user_content(msg, images)})
        elif isinstance(msg, AssistantMessage):
            wire: dict[str, Any] = {"role": "assistant", "content": msg.content or None}
            if msg.tool_calls:
                wire["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in msg.tool_calls
                ]
            if dialect == "deepseek":
                wire["reasoning_content"] = msg.reasoning if _is_deepseek_model(msg.model) else ""
            out.append(wire)
        elif isinstance(msg, ToolMessage):
            out.append({"role": "tool", "tool_call_id": msg.tool_call_id, "content": msg.content})
    return out


def _is_deepseek_model(model: str) -> bool:
    # Reasoning is only meaningful to the provider that produced it; unknown (empty) counts as ours.
    return not model or model.startswith("deepseek")


def _user_content(msg: UserMessage, images: bool) -> str | list[dict[str, Any]]:
    if not msg.images:
        return msg.content
    if not images or not all(img.data_url for img in msg.images):
        notes = "\n".join(
            f"[image {i + 1}: {img.description or 'not shown: this model reads text only'}]"
            for i, img in enumerate(msg.images)
        )
        return f"{msg.content}\n\n{notes}"
    parts: list[dict[str, Any]] = [{"type": "text", "text": msg.content}]
    parts += [{"type": "image_url", "image_url": {"url": img.data_url, "detail": "auto"}} for img in msg.images]
    return parts


def request_body(
    api_model: str, spec: ModelConfig, dialect: Dialect, messages: Sequence[Message],
    tools: Sequence[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(standard parameters, extra_body) for one streaming call."""
    params: dict[str, Any] = {
        "model": api_model,
        "messages": wire_messages(messages, dialect, spec.images),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    extra: dict[str, Any] = {}
    if tools:
        params["tools"] = list(tools)
        # tool_choice is left out: "auto" is the default, and DeepSeek thinking mode rejects anything else.
    if dialect == "deepseek":
        extra["thinking"] = {"type": "enabled" if spec.thinking else "disabled"}
        if spec.thinking and spec.reasoning_effort:
            params["reasoning_effort"] = spec.reasoning_effort
    elif spec.reasoning_effort and not tools:
        # GPT-5.5 on Chat Completions rejects reasoning_effort together with function tools.
        params["reasoning_effort"] = spec.reasoning_effort
    return params, extra
