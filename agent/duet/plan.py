"""Plan: before the driver starts, the plan model reads a brief shaped for planning (the task, the failing test
output, the repository map or the files in play, never the driver's pack) and answers a short plan, which
enters the driver's conversation as text."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import prompts
from agent.context.source import ContextSource
from agent.duet.shaped import MAP_CHARS, TESTS_CHARS, cut
from agent.duet.sidecall import SideCalls
from agent.messages import Message, SystemMessage, UserMessage


@dataclass(frozen=True)
class Plan:
    model: str
    text: str


async def repository_brief(context: ContextSource | None, model: str) -> str:
    """The map (ranked definitions and files in play) for `model`; for a model that would get the whole pack,
    only the names of the files in play."""
    if context is None:
        return "(not available)"
    plan = await asyncio.to_thread(context.plan_for, model)
    if plan.kind == "map":
        return cut(plan.text, MAP_CHARS)
    if plan.in_play:
        return "Files in play: " + ", ".join(plan.in_play[:40])
    return "(not available)"


def plan_messages(task: str, tests: str, repository: str) -> list[Message]:
    return [SystemMessage(content=prompts.render("plan_system").strip()),
            UserMessage(content=prompts.render("plan_request", task=task.strip(), tests=cut(tests, TESTS_CHARS),
                                               repository=repository).strip())]


async def make_plan(side: SideCalls, context: ContextSource | None, task: str, tests: str = "") -> Plan | None:
    """The route's plan, or None when the route takes no plan step, the budget cannot carry it or the call fails."""
    route = side.router.for_role("plan")
    if route is None:
        return None
    messages = plan_messages(task, tests, await repository_brief(context, route.model))
    try:
        result = await side.call(route, messages, "the plan")
    except Exception as exc:
        from agent.events import Notice

        side.session.emit(Notice(level="warning", message=f"plan skipped: {route.model} failed: {exc}"))
        return None
    if result is None or not result.message.content.strip():
        return None
    return Plan(route.model, side.session.redact(result.message.content.strip()))


def with_plan(task: str, plan: Plan | None) -> str:
    """The driver's prompt: the task, then the plan (as text) when there is one."""
    if plan is None:
        return task
    return prompts.render("plan_for_driver", task=task, model=plan.model, plan=plan.text).strip()
