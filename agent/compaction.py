"""Compaction: when the conversation nears the window, older turns are summarised by the cheap model.

The system prompt and repository context (the cached prefix) stay as they are; recent turns stay verbatim;
the summary replaces what came before them. Cuts fall on user messages, so every tool call keeps its result.

A single long task (`agent run "task"`, `fix-tests`) has one user message and many tool exchanges: then the
cut falls inside the task, on an assistant message (so a call is never cut from its result). Everything up to
and including the task's own message stays verbatim (the goal, and the cached prefix with it), the older
exchanges are summarised as progress notes, and the last exchanges follow verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from prompts import render

KEEP_RECENT_USER_TURNS = 2
KEEP_RECENT_EXCHANGES = 2  # within one task: the last model answers (with their tool results) kept verbatim


def summary_prefix() -> str:
    """The line that opens a compacted history's summary (and marks it as one)."""
    return render("compaction_summary_header") + "\n\n"


def continue_prompt() -> str:
    """The user line that follows an in-task progress summary (and marks it as one)."""
    return render("compaction_continue").strip()


@dataclass(frozen=True)
class CompactionPlan:
    older: list[Message]
    recent: list[Message]
    before: list[Message] = field(default_factory=list)
    """Kept verbatim ahead of the summary: within a task, everything up to and including its message."""

    @property
    def folded_calls(self) -> int:
        return sum(len(m.tool_calls) for m in self.older if isinstance(m, AssistantMessage))


def _user_turns(messages: list[Message]) -> list[int]:
    marks = (summary_prefix(), continue_prompt())
    return [i for i, m in enumerate(messages) if isinstance(m, UserMessage) and not m.content.startswith(marks)]


def plan_compaction(messages: list[Message], keep_user_turns: int = KEEP_RECENT_USER_TURNS,
                    keep_exchanges: int = KEEP_RECENT_EXCHANGES) -> CompactionPlan | None:
    """Split at the start of the last `keep_user_turns` user turns; with too few of them, inside the current
    task before its last `keep_exchanges` answers; None if there is too little to compact either way."""
    starts = _user_turns(messages)
    if len(starts) > keep_user_turns:
        cut = starts[-keep_user_turns]
        return CompactionPlan(older=messages[:cut], recent=messages[cut:])
    if not starts:
        return None
    goal = starts[-1]
    answers = [i for i in range(goal + 1, len(messages)) if isinstance(messages[i], AssistantMessage)]
    if len(answers) <= keep_exchanges:
        return None
    cut = answers[-keep_exchanges]
    return CompactionPlan(older=messages[goal + 1:cut], recent=messages[cut:], before=messages[:goal + 1])


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


def compacted(summary: str, recent: list[Message], before: list[Message] | None = None) -> list[Message]:
    """The history after compaction. With `before` (in a task): the task's message and what came before it,
    the progress summary as the model's own note, a line asking it to go on, then the recent exchanges."""
    if before:
        progress = render("compaction_progress_header").strip() + "\n\n" + summary.strip()
        return [*before, AssistantMessage(content=progress), UserMessage(content=continue_prompt()), *recent]
    return [UserMessage(content=summary_prefix() + summary.strip()), AssistantMessage(content=render("compaction_ack")),
            *recent]
