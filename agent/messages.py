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
    item_id: str = Field(default="", description="Responses API output item id (fc_…), sent back only to its origin.")


class ReasoningItem(BaseModel):
    """An encrypted reasoning item from the Responses API, replayed (store=false) right before `before`.

    `before` is the call id of the function call it preceded, or "" for the answer text. Only the
    model that produced it (`AssistantMessage.reasoning_origin`) may receive it again.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    encrypted_content: str
    summary: tuple[str, ...] = ()
    before: str = ""


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
    """One model answer, provider-neutral.

    Reasoning is kept with a tag of where it came from, so each wire format echoes only what its own
    provider produced: `reasoning_origin` is "deepseek" or "openrouter" (the dialect that streamed
    `reasoning`/`reasoning_details`), or "responses:PROVIDER/MODEL" for encrypted `reasoning_items`.
    """

    model_config = ConfigDict(frozen=True)

    role: Literal["assistant"] = "assistant"
    content: str = ""
    reasoning: str = ""
    model: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning_origin: str = ""
    reasoning_items: tuple[ReasoningItem, ...] = ()
    reasoning_details: str = Field(default="", description="OpenRouter's reasoning_details, as JSON text.")


class ToolMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]
