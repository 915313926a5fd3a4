"""What an MCP tool call returned, as text a model reads: images described by the vision sidecar (a text-only
model never receives one), embedded resources as text, secrets redacted before any cut."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from prompts import render
from tools.output_buffer import head_tail

RESOURCE_CHARS = 20_000  # one embedded resource; the loop cuts the whole result again at its own limit
TEXT_MIMES = ("text/", "application/json", "application/xml", "application/yaml", "application/javascript")

Vision = Callable[[str, str], Awaitable[str]]


async def result_text(result: Any, *, tool: str, task: str, vision: Vision | None,
                      redact: Callable[[str], str]) -> str:
    """The content blocks of a `CallToolResult` joined as text. `task`: what the model asked for (the vision
    model is told, so it can describe what matters)."""
    parts: list[str] = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(redact(block.text))
        elif kind == "image":
            parts.append(await _describe(f"data:{block.mime_type};base64,{block.data}", tool, task, vision))
        elif kind == "resource":
            parts.append(_resource(block.resource, redact))
        elif kind == "resource_link":
            parts.append(render("mcp_resource_link", uri=str(block.uri), title=block.name or "").strip())
        else:  # audio, and whatever later protocol versions add
            parts.append(render("mcp_unsupported_content", kind=kind or "unknown").strip())
    if not parts and result.structured_content is not None:
        import json

        parts.append(redact(json.dumps(result.structured_content, ensure_ascii=False)))
    return "\n".join(parts) if parts else render("mcp_empty_result").strip()


async def _describe(url: str, tool: str, task: str, vision: Vision | None) -> str:
    if vision is None:
        return render("mcp_image_no_vision", tool=tool).strip()
    answer = await vision(url, render("mcp_image_question", tool=tool, task=task).strip())
    return render("mcp_image_described", tool=tool, description=answer).strip()


def _resource(resource: Any, redact: Callable[[str], str]) -> str:
    uri = str(resource.uri)
    mime = resource.mime_type or ""
    text = getattr(resource, "text", None)
    if text is None:
        blob = getattr(resource, "blob", "") or ""
        if not mime.startswith(TEXT_MIMES):
            return render("mcp_binary_resource", uri=uri, mime=mime or "unknown type",
                          size=len(base64.b64decode(blob, validate=False)) if blob else 0).strip()
        text = base64.b64decode(blob).decode("utf-8", errors="replace")
    return render("mcp_resource", uri=uri, text=head_tail(redact(text), RESOURCE_CHARS)).strip()
