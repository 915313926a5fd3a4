"""Escalation: the next model gets a shaped brief (the goal, what was tried, the current diff, the last test
output) instead of the whole conversation, so changing vendor does not pay a cold cache on a long history."""

from __future__ import annotations

import asyncio
import json

import prompts
from agent.duet.shaped import DIFF_CHARS, TESTS_CHARS, DiffError, cut, workspace_diff
from agent.events import SessionStarted
from agent.messages import AssistantMessage, Message
from agent.session import Session

TRIED_CHARS = 6_000
STEP_CHARS = 300


def what_was_tried(messages: list[Message]) -> str:
    """The driver's steps, one line each: what it said and which tools it called on what."""
    lines: list[str] = []
    for message in messages:
        if not isinstance(message, AssistantMessage):
            continue
        said = " ".join(message.content.split())[:STEP_CHARS]
        calls = []
        for call in message.tool_calls:
            try:
                args = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                args = {}
            target = next((str(args[k]) for k in ("path", "command", "pattern", "target") if k in args), "")
            calls.append(f"{call.name}({target[:80]})" if target else call.name)
        if said or calls:
            lines.append("- " + "; ".join(filter(None, [said, ", ".join(calls)])))
    return cut("\n".join(lines), TRIED_CHARS)


async def escalation_brief(session: Session, goal: str, tests: str) -> str:
    try:
        diff, _ = await asyncio.to_thread(workspace_diff, session.workspace)
    except DiffError as exc:
        diff = f"(no diff: {exc})"
    return prompts.render("escalation_brief", goal=goal.strip(), tried=what_was_tried(session.messages),
                          diff=cut(diff, DIFF_CHARS) if diff.strip() else "(no changes yet)",
                          tests=cut(tests, TESTS_CHARS)).strip()


def restart_conversation(session: Session) -> None:
    """The conversation starts over (the transcript marks it as `/clear` does, so a resume starts there too)."""
    session.close_pending_calls()
    session.messages = []
    session.emit(SessionStarted(session_id=session.id, workspace=str(session.workspace), command="clear",
                                task=""))
