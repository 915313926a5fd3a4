"""Compaction: when the conversation nears the window, older turns are summarised by the cheap model.

The system prompt and repository context (the cached prefix) stay as they are; recent turns stay verbatim;
the summary replaces what came before them. Cuts fall on user messages, so every tool call keeps its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from prompts import render

KEEP_RECENT_USER_TURNS = 2


def summary_prefix() -> str:
    """The line that opens a compacted history's summary (and marks it as one)."""
    return render("compaction_summary_header") + "\n\n"


@dataclass(frozen=True)
class CompactionPlan:
    older: list[Message]
    recent: list[Message]


def plan_compaction(messages: list[Message], keep_user_turns: int = KEEP_RECENT_USER_TURNS) -> CompactionPlan | None:
    """Split at the start of the last `keep_user_turns` user turns; None if there is too little to compact."""
    starts = [i for i, m in enumerate(messages)
              if isinstance(m, UserMessage) and not m.content.startswith(summary_prefix())]
    if len(starts) <= keep_user_turns:
        return None
    cut = starts[-keep_user_turns]
    return CompactionPlan(older=messages[:cut], recent=messages[cut:])


def transcript_text(messages: list[Message], limit: int = 400_000) -> str:
    """The older turns as plain text for the summariser (tool results shortened)."""
    lines = []
    for m in messages:
        if isinstance(m, UserMessage):
            lines.append(f"USER: {m.content}")
        elif isinstance(m, AssistantMessage):
            calls = "; ".join(f"{c.name}({c.arguments[:300]})" for c in m.tool_calls)
            lines.append(f"ASSISTANT: {m.content}" + (f"\nCALLS: {calls}" if calls else ""))
        elif isinstance(m, ToolMessage):
            body = m.content if len(m.content) < 2000 else m.content[:1000] + "\n…\n" + m.content[-800:]
            lines.append(f"RESULT of {m.name}: {body}")
    text = "\n\n".join(lines)
    return text[-limit:]


def summary_request(older: list[Message], limit: int | None = None) -> list[Message]:
    """The summariser's prompt; `limit` (characters) keeps it inside a small summary model's window."""
    text = transcript_text(older) if limit is None else transcript_text(older, min(limit, 400_000))
    return [SystemMessage(content=render("compaction_request")), UserMessage(content=text)]


def compacted(summary: str, recent: list[Message]) -> list[Message]:
    return [UserMessage(content=summary_prefix() + summary.strip()), AssistantMessage(content=render("compaction_ack")),
            *recent]
