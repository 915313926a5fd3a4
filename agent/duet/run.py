"""The duet around the loop: plan before the driver, review after it, requested changes back to it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from agent.duet.plan import Plan, make_plan, with_plan
from agent.duet.review import ReviewBrief, feedback, review_change
from agent.duet.shaped import DiffError, workspace_diff
from agent.duet.sidecall import SideCalls
from agent.events import Notice, ReviewDone
from agent.loop import Agent
from agent.messages import ImagePart, UserMessage
from agent.outcome import Outcome

# Another driver round with the reviewer's findings: its outcome and the test output to show the next review.
Redo = Callable[[str], Awaitable[tuple[Outcome, str]]]


def side_calls(agent: Agent) -> SideCalls:
    return SideCalls(agent.session, agent.calls, agent.router, agent.limits.max_cost)


async def plan_for(agent: Agent, task: str, tests: str = "") -> Plan | None:
    """The profile's plan for `task` (None without a plan step); the task shapes the repository map first."""
    if agent.context:
        agent.context.add_hint(task)
    return await make_plan(side_calls(agent), agent.context, task, tests)


async def reviewed(agent: Agent, goal: str, plan: Plan | None, outcome: Outcome, tests: str,
                   redo: Redo) -> tuple[Outcome, ReviewDone | None]:
    """Review a finished change; requested changes go back to the driver (`redo`) at most `review_rounds`
    times, then the run ends with the last verdict recorded."""
    route = agent.router.for_role("review")
    if route is None:
        return outcome, None
    side, rounds = side_calls(agent), agent.session.config.review_rounds
    number, last = 0, None
    while outcome is Outcome.DONE:
        try:
            diff, paths = await asyncio.to_thread(workspace_diff, agent.session.workspace)
        except DiffError as exc:
            agent.session.emit(Notice(level="warning", message=f"review skipped: {exc}"))
            break
        if not diff.strip():
            agent.session.emit(Notice(message="review skipped: the driver changed no files"))
            break
        number += 1
        last = await review_change(side, route, ReviewBrief(goal, diff, paths, tests, plan.text if plan else ""),
                                   number)
        if last.verdict != "request_changes" or number > rounds:
            break
        outcome, tests = await redo(feedback(last, rounds))
    return outcome, last


async def run_with_roles(agent: Agent, task: str | None, images: tuple[ImagePart, ...] = ()) -> Outcome:
    """A task (or a follow-up) through the profile's roles: plan (for the conversation's first task), drive,
    review (each only when the profile has it)."""
    if not task:
        return await agent.run(task, images)
    first = not any(isinstance(m, UserMessage) for m in agent.session.messages)
    plan = await plan_for(agent, task) if first else None
    outcome = await agent.run(with_plan(task, plan), images)

    async def again(prompt: str) -> tuple[Outcome, str]:
        return await agent.run(prompt), ""

    outcome, _ = await reviewed(agent, task, plan, outcome, "", again)
    return outcome
