"""Our conversation → a Chat Completions request body, valid for the dialect that receives it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.catalog import Dialect, Effort, ModelConfig
from agent.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from agent.providers.base import ToolSchema

# How each dialect names the output limit: OpenAI deprecated max_tokens for max_completion_tokens;
# DeepSeek, OpenRouter and the self-hosted servers take max_tokens.
MAX_TOKENS_PARAM: dict[Dialect, str] = {
    "deepseek": "max_tokens", "openai": "max_completion_tokens", "openrouter": "max_tokens",
    "compatible": "max_tokens",
}


def wire_messages(messages: Sequence[Message], dialect: Dialect, images: bool) -> list[dict[str, Any]]:
    """Messages as the dialect expects them.

    DeepSeek gets `reasoning_content` on every assistant turn (empty for turns other dialects wrote);
    OpenRouter gets back the `reasoning_details` it sent; nobody else sees reasoning. A text-only model
    gets an image's description instead of the image.
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
                wire["reasoning_content"] = msg.reasoning if msg.reasoning_origin == "deepseek" else ""
            elif dialect == "openrouter" and msg.reasoning_origin == "openrouter" and msg.reasoning_details:
                wire["reasoning_details"] = json.loads(msg.reasoning_details)
            out.append(wire)
        elif isinstance(msg, ToolMessage):
            out.append({"role": "tool", "tool_call_id": msg.tool_call_id, "content": msg.content})
    return out


def image_notes(msg: UserMessage) -> str:
    """The user's text with each image's description, for models that cannot see it."""
    notes = "\n".join(
        f"[image {i + 1}: {img.description or 'not shown: this model reads text only'}]"
        for i, img in enumerate(msg.images)
    )
    return f"{msg.content}\n\n{notes}"


def shows_images(msg: UserMessage, images: bool) -> bool:
    """Send the images themselves (the model sees images and every one still has its bytes)."""
    return bool(msg.images) and images and all(img.data_url for img in msg.images)


def _user_content(msg: UserMessage, images: bool) -> str | list[dict[str, Any]]:
    if not msg.images:
        return msg.content
    if not shows_images(msg, images):
        return image_notes(msg)
    parts: list[dict[str, Any]] = [{"type": "text", "text": msg.content}]
    parts += [{"type": "image_url", "image_url": {"url": img.data_url, "detail": "auto"}} for img in msg.images]
    return parts


def request_body(
    api_model: str, spec: ModelConfig, dialect: Dialect, messages: Sequence[Message],
    tools: Sequence[ToolSchema], *, effort: Effort | None = None, max_output_tokens: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(standard parameters, extra_body) for one streaming call."""
    params: dict[str, Any] = {
        "model": api_model,
        "messages": wire_messages(messages, dialect, spec.images),
        "stream": True,
        "stream_options": {"include_usage": True},
        MAX_TOKENS_PARAM[dialect]: max_output_tokens or spec.max_output_tokens,
    }
    extra: dict[str, Any] = {}
    effort = effort or spec.reasoning_effort
    if tools:
        params["tools"] = [dict(t) for t in tools]
        # tool_choice is left out: "auto" is the default, and DeepSeek thinking mode rejects anything else.
    if dialect == "deepseek":
        extra["thinking"] = {"type": "enabled" if spec.thinking else "disabled"}
        if spec.thinking and effort:
            params["reasoning_effort"] = effort
    elif dialect == "openrouter":
        if effort:
            extra["reasoning"] = {"effort": effort}
    elif dialect == "openai" and effort and not tools:
        # GPT-5.5 on Chat Completions rejects reasoning_effort together with function tools.
        params["reasoning_effort"] = effort
    return params, extra
