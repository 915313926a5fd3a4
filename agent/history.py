"""Rebuilding a session's conversation and spend from its transcript (for `agent resume`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from agent.compaction import compacted
from agent.events import (
    AssistantMessageEvent,
    Compacted,
    Event,
    ModelCallStarted,
    SessionStarted,
    ToolFinished,
    ToolStarted,
    TurnStarted,
    UsageEvent,
    UserMessageEvent,
)
from agent.messages import AssistantMessage, ImagePart, Message, ToolMessage, UserMessage
from agent.readset import stamps_of
from agent.spend.ledger import Ledger
from tools.base import FileStamp

INTERRUPTED_RESULT = "error: the session stopped before this tool call ran; nothing was done"
RUNNING_RESULT = ("error: the session was interrupted while this tool call was running; it may have done part of "
                  "its work: check the files and state it touches before going on")
UNNAMED_TOOL = "unnamed_tool"


def with_valid_calls(message: AssistantMessage, taken: Collection[str] = ()) -> AssistantMessage:
    """`message` with every tool call given a name and an id no other call has (in this answer or in `taken`,
    the ids already in the history), so that it can be sent back to the API: a call with an empty name is kept
    (its result tells the model what went wrong) under a placeholder name; a repeated id (a model's slip) gets a
    suffix."""
    seen = set(taken)
    calls = []
    for i, c in enumerate(message.tool_calls):
        call_id = c.id or f"call_unnamed_{i}"
        while call_id in seen:
            call_id = f"{call_id}_{i}"
        seen.add(call_id)
        calls.append(c if (c.id, c.name) == (call_id, c.name.strip() or UNNAMED_TOOL)
                     else c.model_copy(update={"name": c.name.strip() or UNNAMED_TOOL, "id": call_id}))
    if all(a is b for a, b in zip(calls, message.tool_calls, strict=True)):
        return message
    return message.model_copy(update={"tool_calls": tuple(calls)})


def call_ids(messages: list[Message]) -> set[str]:
    """The ids of every tool call in `messages`: a new answer's calls must not repeat one."""
    return {c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls}


@dataclass
class History:
    started: SessionStarted | None = None
    messages: list[Message] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    turns: int = 0
    model_calls: int = 0
    read_stamps: dict[str, FileStamp] = field(default_factory=dict)
    """The files the model had read (workspace-relative), as they were when it last read or wrote them."""


def rebuild(events: Iterable[Event]) -> History:
    """Conversation (without the system prompt) and ledger, with every tool call answered."""
    history = History()
    pending: dict[str, str] = {}
    started: set[str] = set()  # calls that began running: if they never finished, they were cut off mid-way
    for event in events:
        if isinstance(event, SessionStarted) and history.started is None:
            history.started = event
        elif isinstance(event, SessionStarted) and event.command == "clear":  # the TUI's /clear: a fresh start
            _close_pending(history, pending, started)
            history.messages = []
        elif isinstance(event, UserMessageEvent):
            _close_pending(history, pending, started)
            images = tuple(ImagePart(data_url="", description=d) for d in event.images)
            history.messages.append(UserMessage(content=event.content, images=images))
        elif isinstance(event, AssistantMessageEvent):
            _close_pending(history, pending, started)
            message = with_valid_calls(event.message)  # transcripts written before names were checked
            history.messages.append(message)
            history.turns = max(history.turns, event.turn)
            pending = {c.id: c.name for c in message.tool_calls}
        elif isinstance(event, TurnStarted):
            history.turns = max(history.turns, event.turn)
        elif isinstance(event, ModelCallStarted):
            history.model_calls = max(history.model_calls, event.call)
        elif isinstance(event, ToolStarted):
            started.add(event.call_id)
        elif isinstance(event, ToolFinished):
            history.read_stamps.update(stamps_of(event.data))
            if event.call_id in pending:
                history.messages.append(ToolMessage(tool_call_id=event.call_id, name=event.name,
                                                    content=event.output))
                pending.pop(event.call_id)
        elif isinstance(event, UsageEvent):
            history.ledger.add(event.record)
        elif isinstance(event, Compacted):
            _close_pending(history, pending, started)
            recent = history.messages[-event.kept:] if event.kept else []
            history.messages = compacted(event.summary, recent, history.messages[:event.kept_before])
    _close_pending(history, pending, started)
    return history


def unfinished_result(call_id: str, started: set[str]) -> str:
    """What the model is told about a call that has no result: it never ran, or it was cut off running."""
    return RUNNING_RESULT if call_id in started else INTERRUPTED_RESULT


def _close_pending(history: History, pending: dict[str, str], started: set[str]) -> None:
    for call_id, name in pending.items():
        history.messages.append(ToolMessage(tool_call_id=call_id, name=name,
                                            content=unfinished_result(call_id, started)))
    pending.clear()

