"""`fix-tests`: run the tests, hand the failures to the agent, verify by running the tests again."""

from __future__ import annotations

from dataclasses import dataclass

import prompts
from agent.events import Notice, StepRouted, TestsRan
from agent.loop import Agent
from agent.outcome import Outcome
from agent.testcmd import FAILURE_CHARS, TestRun, run_tests
from tools.output_buffer import head_tail


@dataclass
class FixTestsResult:
    outcome: Outcome
    before: TestRun
    after: TestRun | None
    message: str


async def fix_tests(agent: Agent, command: str, max_rounds: int = 3) -> FixTestsResult:
    """Loop until the tests pass (by our own run), the model gives up `max_rounds` times, or a limit hits."""
    session = agent.session
    before = await _run(agent, command)
    if before.passed:
        return FixTestsResult(Outcome.DONE, before, before, "the tests already pass; nothing to fix")
    if before.cannot_start:  # no model can fix the environment the command needs: stop before spending
        return FixTestsResult(Outcome.TEST_COMMAND, before, None,
                              f"the test command `{command}` could not run (exit {before.exit_code}: "
                              f"{before.cannot_start}); nothing was sent to a model — fix it or pass --test-cmd CMD")
    if agent.context:
        agent.context.add_hint(before.output)  # failing tests and their tracebacks are the files in play
    task = prompts.render("fix_tests", command=command, exit_code=before.exit_code,
                                            output=head_tail(before.output, FAILURE_CHARS))
    after: TestRun | None = None
    for round_number in range(1, max_rounds + 1):
        refused = len(agent.refused)
        outcome = await agent.run(task)
        if outcome is not Outcome.DONE:
            return FixTestsResult(outcome, before, after, agent.last_error)
        after = await _run(agent, command)
        if after.passed:
            return FixTestsResult(Outcome.DONE, before, after, "the tests pass")
        if len(agent.refused) > refused:
            # The model's changes were refused: another round, or a dearer model, would only be refused again.
            return FixTestsResult(Outcome.PERMISSION, before, after, f"`{command}` still fails")
        if round_number < max_rounds:
            session.emit(Notice(message=f"the model stopped but `{command}` still fails; round {round_number + 1}"))
            escalation = agent.router.record_failed_attempt(round_number)
            if escalation:
                session.emit(StepRouted(kind="escalation", model=escalation.model, reason=escalation.reason))
            task = prompts.render("tests_still_fail", command=command, exit_code=after.exit_code,
                                                           output=head_tail(after.output, FAILURE_CHARS))
    return FixTestsResult(Outcome.NOT_DONE, before, after, f"`{command}` still fails after {max_rounds} rounds")


async def _run(agent: Agent, command: str) -> TestRun:
    run = await run_tests(agent.session.tool_context, command)
    agent.session.emit(TestsRan(command=command, passed=run.passed, exit_code=run.exit_code, summary=run.summary))
    return run
