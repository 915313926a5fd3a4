"""The conversation in a provider-neutral form. Wire formats are produced in agent/providers/wire.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ToolCall(BaseModel):
    """A function call the model asked for. `arguments` is the raw JSON text the model sent."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: str


class ImagePart(BaseModel):
    """An image attached to a user message, with a text stand-in for text-only models."""

    model_config = ConfigDict(frozen=True)

    data_url: str
    description: str = ""


class SystemMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system"] = "system"
    content: str


class UserMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["user"] = "user"
    content: str
    images: tuple[ImagePart, ...] = ()


class AssistantMessage(BaseModel):
    """One model answer. `reasoning` is kept with the provider that produced it (DeepSeek needs it back)."""

    model_config = ConfigDict(frozen=True)

    role: Literal["assistant"] = "assistant"
    content: str = ""
    reasoning: str = ""
    model: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


class ToolMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]
