"""Review: the review model reads the diff, the touched files, the test output and the plan (shaped, no pack)
and answers approve or request changes with findings. A malformed answer is asked for once more, then the
review has no verdict; every outcome is a `ReviewDone` event."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import prompts
from agent.duet.shaped import DIFF_CHARS, TESTS_CHARS, cut, touched_files
from agent.duet.sidecall import SideCalls
from agent.duet.verdict import Verdict, parse_verdict
from agent.errors import DuetError
from agent.events import Notice, ReviewDone, ReviewFinding
from agent.messages import Message, SystemMessage, UserMessage
from agent.providers.errors import ProviderError
from agent.router import Route


@dataclass(frozen=True)
class ReviewBrief:
    task: str
    diff: str
    paths: list[str]
    tests: str = ""
    plan: str = ""


def review_messages(root: Path, brief: ReviewBrief) -> list[Message]:
    request = prompts.render("review_request", task=brief.task.strip() or "(not given: review the diff on its "
                             "own merits)", plan=brief.plan.strip() or "(none)", tests=cut(brief.tests, TESTS_CHARS),
                             diff=cut(brief.diff, DIFF_CHARS), files=touched_files(root, brief.paths))
    return [SystemMessage(content=prompts.render("review_system").strip()), UserMessage(content=request.strip())]


async def review_change(side: SideCalls, route: Route, brief: ReviewBrief, round_number: int = 1) -> ReviewDone:
    """One review of `brief` by `route.model`; the ReviewDone event (emitted) says how it went."""
    session = side.session
    messages = review_messages(session.workspace, brief)
    verdict: Verdict | None = None
    detail = ""
    for attempt in range(2):
        try:
            result = await side.call(route, messages, "the review")
        except (ProviderError, DuetError) as exc:
            detail = f"{route.model} failed: {exc}"
            break
        if result is None:
            return _done(side, ReviewDone(model=route.model, verdict="skipped", round=round_number,
                                          detail="the budget cannot carry the review"))
        verdict = parse_verdict(result.message)
        if verdict is not None:
            break
        detail = "the reviewer's answer held no verdict" + (" (asked twice)" if attempt else "")
        messages = [*messages, result.message.model_copy(update={"reasoning": ""}),
                    UserMessage(content=prompts.render("review_retry").strip())]
    if verdict is None:
        return _done(side, ReviewDone(model=route.model, verdict="none", round=round_number, detail=detail))
    return _done(side, ReviewDone(model=route.model, verdict=verdict.verdict, findings=verdict.findings,
                                  round=round_number))


def _done(side: SideCalls, event: ReviewDone) -> ReviewDone:
    side.session.emit(event)
    line = {"approve": "approved", "request_changes": f"requests changes ({len(event.findings)} findings)",
            "none": f"gave no verdict: {event.detail}", "skipped": f"skipped: {event.detail}"}[event.verdict]
    found = f"\n{findings_text(event.findings)}" if event.findings else ""
    side.session.emit(Notice(level="info" if event.verdict == "approve" else "warning",
                             message=f"review {event.round} by {event.model}: {line}{found}"))
    return event


def findings_text(findings: list[ReviewFinding]) -> str:
    return "".join(prompts.render("review_finding", severity=f.severity, where=f"{f.file}: " if f.file else "",
                                  message=f.message) for f in findings).strip() or "(no findings given)"


def feedback(event: ReviewDone, rounds: int) -> str:
    """The driver's next prompt: the requested changes."""
    return prompts.render("review_feedback", model=event.model, round=event.round, rounds=rounds,
                          findings=findings_text(event.findings)).strip()
