"""Compaction: when the conversation nears the window, older turns are summarised by the cheap model.

The system prompt and repository context (the cached prefix) stay as they are; recent turns stay verbatim;
the summary replaces what came before them. Cuts fall on user messages, so every tool call keeps its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage

KEEP_RECENT_USER_TURNS = 2
SUMMARY_INSTRUCTIONS = (
    "Summarise the conversation below for the coding agent that will continue it. Keep: the user's goals and "
    "constraints, decisions made, files read or changed (with paths), commands run and their outcomes, and every "
    "failure or open question not yet resolved, verbatim where short. Drop pleasantries. Plain text, no preamble."
)
SUMMARY_PREFIX = "[Summary of the earlier conversation, written when it was compacted]\n\n"


@dataclass(frozen=True)
class CompactionPlan:
    older: list[Message]
    recent: list[Message]


def plan_compaction(messages: list[Message], keep_user_turns: int = KEEP_RECENT_USER_TURNS) -> CompactionPlan | None:
    """Split at the start of the last `keep_user_turns` user turns; None if there is too little to compact."""
    starts = [i for i, m in enumerate(messages)
              if isinstance(m, UserMessage) and not m.content.startswith(SUMMARY_PREFIX)]
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
    return [SystemMessage(content=SUMMARY_INSTRUCTIONS), UserMessage(content=text)]


def compacted(summary: str, recent: list[Message]) -> list[Message]:
    return [UserMessage(content=SUMMARY_PREFIX + summary.strip()), AssistantMessage(content="Understood."), *recent]
