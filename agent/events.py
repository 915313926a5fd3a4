"""Typed events: the only way the agent talks to the user. Every front end consumes this stream.

Events marked ephemeral (streaming deltas) are shown live but not stored: the completed message that
follows them carries the full text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agent.messages import AssistantMessage
from agent.roles import Role
from agent.spend.ledger import ModelSpend
from agent.spend.usage import UsageRecord


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: float = Field(default_factory=time.time)


SCHEMA_VERSION = 2  # of the event stream (JSONL, transcripts); 1: turn.started per model call, no items


class SessionStarted(_Event):
    type: Literal["session.started"] = "session.started"
    schema_version: int = Field(default=1, description="The event schema this stream was written with.")
    session_id: str
    workspace: str
    command: str
    task: str
    resumed: bool = False
    approval: str | None = Field(default=None, description="The approval mode the session started in (shown; a "
                                                          "resume takes the mode from its own flags and config, "
                                                          "never from a transcript).")
    budget_usd: str | None = Field(default=None, description="The run's budget in USD, exact decimal as text; "
                                                             "None: no budget (or an older transcript).")


class UserMessageEvent(_Event):
    type: Literal["user.message"] = "user.message"
    content: str
    images: list[str] = Field(default_factory=list, description="Text descriptions of attached images.")


class StepRouted(_Event):
    """A side step (image, summary) and the model chosen for it, with the reason."""

    type: Literal["step.routed"] = "step.routed"
    kind: Literal["vision", "summary", "fallback", "escalation", "switch", "plan", "review", "classify"]
    model: str
    reason: str
    role: Role | None = Field(default=None, description="The role the chosen model plays from here.")


class TurnStarted(_Event):
    """Schema 2: one turn is one user prompt (a task, a follow-up, a fix-tests round); model calls and items
    happen inside it. Schema 1 wrote one per model call, with model and reason (kept readable for old transcripts)."""

    type: Literal["turn.started"] = "turn.started"
    turn: int
    prompt: str = Field(default="", description="The prompt that opened the turn (schema 2).")
    model: str = Field(default="", description="Schema 1 only: the call's model.")
    reason: str = Field(default="", description="Schema 1 only: why that model.")
    role: Role = "execute"


class ModelCallStarted(_Event):
    """One call to a model inside a turn (schema 2)."""

    type: Literal["call.started"] = "call.started"
    turn: int
    call: int = Field(description="Session-wide count of model calls, from 1.")
    model: str
    role: Role = "execute"
    reason: str


class ModelCallCompleted(_Event):
    type: Literal["call.completed"] = "call.completed"
    turn: int
    call: int
    model: str
    role: Role = "execute"
    ok: bool = True
    error: str = ""


class MessageDelta(_Event):
    """A piece of streamed text or reasoning (ephemeral)."""

    type: Literal["message.delta"] = "message.delta"
    turn: int
    kind: Literal["text", "reasoning"]
    text: str


class StreamReset(_Event):
    """The stream was cut and the turn is being retried: discard the partial text shown (ephemeral)."""

    type: Literal["stream.reset"] = "stream.reset"
    turn: int


class AssistantMessageEvent(_Event):
    type: Literal["assistant.message"] = "assistant.message"
    turn: int
    message: AssistantMessage


class AnswerTruncated(_Event):
    """The model's answer was cut by its output limit (never a finished answer)."""

    type: Literal["answer.truncated"] = "answer.truncated"
    turn: int
    model: str
    reason: str = Field(description="Why: max_output_tokens, content_filter, ...")
    continued: bool = Field(description="The model is asked to continue where it stopped.")
    dropped_calls: int = Field(default=0, description="Cut tool calls left unrun.")


class ToolStarted(_Event):
    type: Literal["tool.started"] = "tool.started"
    call_id: str
    name: str
    arguments: str


class ToolFinished(_Event):
    type: Literal["tool.finished"] = "tool.finished"
    call_id: str
    name: str
    ok: bool
    output: str = Field(description="Exactly what the model receives.")
    duration_s: float = 0.0
    data: dict[str, Any] = Field(default_factory=dict, description="Structured detail for front ends.")


ItemKind = Literal["agent_message", "reasoning", "command_execution", "file_change", "tool_call", "mcp_tool_call",
                   "notice"]
ItemStatus = Literal["in_progress", "completed", "failed", "declined"]


class FileChangeEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    kind: Literal["add", "update", "delete"]


class Item(BaseModel):
    """One thing that happened inside a turn, in Codex's item shape: its kind says which fields are set."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Unique within the session; a tool call's item uses the call id.")
    kind: ItemKind
    status: ItemStatus = "in_progress"
    text: str = Field(default="", description="agent_message / reasoning / notice text; a tool's output.")
    tool: str = Field(default="", description="tool_call / mcp_tool_call: the tool's name.")
    server: str = Field(default="", description="mcp_tool_call: the server's name.")
    arguments: str = Field(default="", description="The call's arguments as the model sent them (JSON text).")
    command: str = Field(default="", description="command_execution: the command line.")
    exit_code: int | None = Field(default=None, description="command_execution: once it ended.")
    changes: tuple[FileChangeEntry, ...] = Field(default=(), description="file_change: the paths and how.")
    duration_s: float | None = None


class ItemStarted(_Event):
    type: Literal["item.started"] = "item.started"
    turn: int
    item: Item


class ItemUpdated(_Event):
    """Progress on an item (ephemeral): streamed command output, a growing message."""

    type: Literal["item.updated"] = "item.updated"
    turn: int
    item: Item


class ItemCompleted(_Event):
    type: Literal["item.completed"] = "item.completed"
    turn: int
    item: Item


class ApprovalDecided(_Event):
    type: Literal["approval"] = "approval"
    call_id: str
    name: str
    approved: bool
    reason: str


class FileChanged(_Event):
    type: Literal["file.changed"] = "file.changed"
    path: str
    action: Literal["created", "modified", "deleted"]
    diff: str


class UsageEvent(_Event):
    type: Literal["usage"] = "usage"
    record: UsageRecord
    model_total: ModelSpend
    session_usd: str = Field(description="Session total in USD, exact decimal as text.")


class ContextBuilt(_Event):
    """What of the repository went into the prompt for a model."""

    type: Literal["context.built"] = "context.built"
    model: str
    kind: Literal["pack", "map", "none"]
    tokens: int
    workspace_tokens: int
    files_packed: int
    files_mapped: int
    files_skipped: int


class Compacted(_Event):
    """Older turns were replaced by a summary; the cached prefix was kept."""

    type: Literal["compacted"] = "compacted"
    model: str
    messages_before: int
    messages_after: int
    kept: int = Field(description="Messages kept verbatim after the summary.")
    summary: str
    kept_before: int = Field(default=0, description="Messages kept verbatim before the summary: within one task, "
                                                      "everything up to and including the task's message.")
    folded_calls: int = Field(default=0, description="Tool calls (with their results) folded into the summary.")


class UsageEstimate(_Event):
    """A running estimate while a response streams (ephemeral); the usage event replaces it."""

    type: Literal["usage.estimate"] = "usage.estimate"
    model: str
    output_tokens: int
    call_usd: str
    session_usd: str


class Notice(_Event):
    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    message: str


class ReviewFinding(BaseModel):
    """One finding of a review, most severe first."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["high", "medium", "low"] = "medium"
    file: str = ""
    message: str


class ReviewDone(_Event):
    """The review model's verdict on the driver's change (or on `agent review`'s diff): approve, request changes,
    none (no parsable answer after one retry) or skipped (the budget could not carry it)."""

    type: Literal["review.done"] = "review.done"
    model: str
    verdict: Literal["approve", "request_changes", "none", "skipped"]
    findings: list[ReviewFinding] = Field(default_factory=list)
    round: int = Field(default=1, description="Which review of the run this is (1 = the first).")
    detail: str = Field(default="", description="Why there is no verdict, when there is none.")


class TestsRan(_Event):
    type: Literal["tests.ran"] = "tests.ran"
    command: str
    passed: bool
    exit_code: int
    summary: str


class TurnCompleted(_Event):
    type: Literal["turn.completed"] = "turn.completed"
    turn: int


class TurnFailed(_Event):
    type: Literal["turn.failed"] = "turn.failed"
    turn: int
    error: str


class RunFinished(_Event):
    type: Literal["run.finished"] = "run.finished"
    outcome: str
    exit_code: int
    message: str = ""


Event = Annotated[
    SessionStarted | UserMessageEvent | StepRouted | ContextBuilt | Compacted | UsageEstimate | TurnStarted
    | MessageDelta | StreamReset | AssistantMessageEvent | AnswerTruncated
    | ModelCallStarted | ModelCallCompleted | ToolStarted | ToolFinished | ItemStarted | ItemUpdated | ItemCompleted
    | ApprovalDecided | FileChanged | UsageEvent | Notice | ReviewDone | TestsRan
    | TurnCompleted | TurnFailed | RunFinished,
    Field(discriminator="type"),
]

EPHEMERAL = frozenset({"message.delta", "stream.reset", "usage.estimate", "item.updated"})

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


_E = TypeVar("_E", bound=BaseModel)


def _map_strings(node: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return fn(node)
    if isinstance(node, dict):
        return {k: _map_strings(v, fn) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_map_strings(v, fn) for v in node]
    return node


def map_text(event: _E, fn: Callable[[str], str]) -> _E:
    """`event` with `fn` applied to every text field (redaction, neutralising); the same object if none changed."""
    data = event.model_dump()
    mapped = _map_strings(data, fn)
    return event if mapped == data else type(event).model_validate(mapped)


def parse_event(line: str) -> Event:
    """Read one JSONL line back into its event."""
    return _ADAPTER.validate_json(line)
