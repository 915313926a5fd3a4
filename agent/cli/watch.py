"""Facts a run's result needs that only the event stream knows: the final answer, time spent waiting on
models, and the refused tool calls."""

from __future__ import annotations

import json
import time
from typing import Any

from agent.events import (
    ApprovalDecided,
    AssistantMessageEvent,
    Event,
    ItemCompleted,
    ItemStarted,
    ModelCallCompleted,
    ModelCallStarted,
    ReviewDone,
    ToolStarted,
    TurnFailed,
    TurnStarted,
)
from agent.result import PermissionDenial, ReviewSummary, RunFacts

INPUT_VALUE_CHARS = 200


class RunWatcher:
    """An event sink that gathers `RunFacts` as the run goes."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._turn_started: float | None = None
        self._api_s = 0.0
        self._answer = ""
        self._arguments: dict[str, str] = {}
        self._denials: list[PermissionDenial] = []
        self._review: ReviewSummary | None = None

    def __call__(self, event: Event) -> None:
        # Waiting on a model: from a call's start to its answer. Schema 2 says so (`call.started`/`completed`);
        # schema 1 started a turn per call, with its model.
        if isinstance(event, ModelCallStarted) or (isinstance(event, TurnStarted) and event.model):
            self._turn_started = event.ts
        elif isinstance(event, AssistantMessageEvent | TurnFailed | ModelCallCompleted) \
                and self._turn_started is not None:
            self._api_s += max(event.ts - self._turn_started, 0.0)
            self._turn_started = None
        if isinstance(event, AssistantMessageEvent) and event.message.content.strip():
            self._answer = event.message.content
        elif isinstance(event, ItemCompleted) and event.item.kind == "agent_message" and event.item.text.strip():
            self._answer = event.item.text
        elif isinstance(event, ReviewDone):
            self._review = ReviewSummary(model=event.model, verdict=event.verdict, findings=event.findings,
                                         rounds=event.round)
        elif isinstance(event, ToolStarted):
            self._arguments[event.call_id] = event.arguments
        elif isinstance(event, ItemStarted) and event.item.arguments:
            self._arguments.setdefault(event.item.id, event.item.arguments)
        elif isinstance(event, ApprovalDecided) and not event.approved:
            self._denials.append(PermissionDenial(
                tool_name=event.name, tool_use_id=event.call_id,
                tool_input=_shortened(self._arguments.get(event.call_id, "")), reason=event.reason))

    def facts(self) -> RunFacts:
        return RunFacts(result=self._answer, duration_ms=int((time.monotonic() - self._started) * 1000),
                        duration_api_ms=int(self._api_s * 1000), permission_denials=list(self._denials),
                        review=self._review)


def _shortened(arguments: str) -> dict[str, Any]:
    """The call's arguments as an object, long strings cut (a whole file's content is not a summary)."""
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return {"raw": arguments[:INPUT_VALUE_CHARS]}
    return {k: (v[:INPUT_VALUE_CHARS] + "…" if isinstance(v, str) and len(v) > INPUT_VALUE_CHARS else v)
            for k, v in parsed.items()}
