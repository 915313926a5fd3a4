"""Rebuilding a session's conversation and spend from its transcript (for `agent resume`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.compaction import compacted
from agent.events import (
    AssistantMessageEvent,
    Compacted,
    Event,
    SessionStarted,
    ToolFinished,
    UsageEvent,
    UserMessageEvent,
)
from agent.messages import ImagePart, Message, ToolMessage, UserMessage
from agent.spend.ledger import Ledger

INTERRUPTED_RESULT = "error: the session stopped before this tool call ran; nothing was done"


@dataclass
class History:
    started: SessionStarted | None = None
    messages: list[Message] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    turns: int = 0


def rebuild(events: Iterable[Event]) -> History:
    """Conversation (without the system prompt) and ledger, with every tool call answered."""
    history = History()
    pending: dict[str, str] = {}
    for event in events:
        if isinstance(event, SessionStarted) and history.started is None:
            history.started = event
        elif isinstance(event, UserMessageEvent):
            _close_pending(history, pending)
            images = tuple(ImagePart(data_url="", description=d) for d in event.images)
            history.messages.append(UserMessage(content=event.content, images=images))
        elif isinstance(event, AssistantMessageEvent):
            _close_pending(history, pending)
            history.messages.append(event.message)
            history.turns = max(history.turns, event.turn)
            pending = {c.id: c.name for c in event.message.tool_calls}
        elif isinstance(event, ToolFinished) and event.call_id in pending:
            history.messages.append(ToolMessage(tool_call_id=event.call_id, name=event.name, content=event.output))
            pending.pop(event.call_id)
        elif isinstance(event, UsageEvent):
            history.ledger.add(event.record)
        elif isinstance(event, Compacted):
            _close_pending(history, pending)
            recent = history.messages[-event.kept:] if event.kept else []
            history.messages = compacted(event.summary, recent)
    _close_pending(history, pending)
    return history


def _close_pending(history: History, pending: dict[str, str]) -> None:
    for call_id, name in pending.items():
        history.messages.append(ToolMessage(tool_call_id=call_id, name=name, content=INTERRUPTED_RESULT))
    pending.clear()

