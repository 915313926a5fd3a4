"""Compaction as the loop does it: the summary model folds older turns (or, inside one task, older tool calls)
into a summary, keeping the cached prefix and the recent exchanges verbatim."""

from __future__ import annotations

from agent.compaction import compacted, plan_compaction, summary_request
from agent.events import Compacted, StepRouted
from agent.modelcall import ModelCaller
from agent.router import Router
from agent.session import Session

SUMMARY_CHARS_PER_TOKEN = 3  # the older turns given to the summariser fill at most half its window


class Compactor:
    def __init__(self, session: Session, router: Router, calls: ModelCaller) -> None:
        self.session, self.router, self.calls = session, router, calls

    async def compact(self) -> bool:
        """Summarise older turns with the cheap model; False if there is too little to fold."""
        session = self.session
        plan = plan_compaction(session.messages)
        if plan is None:
            return False
        route = self.router.summary_model()
        session.emit(StepRouted(kind="summary", model=route.model, reason=route.reason, role="summary"))
        spec = session.config.models.get(route.model)
        limit = spec.context_window // 2 * SUMMARY_CHARS_PER_TOKEN if spec else None
        older = [*plan.before[-1:], *plan.older]  # in a task, the summariser reads the task too
        result = await self.calls.call(route.model, summary_request(older, limit), role="summary",
                                       reason=route.reason)
        before = len(session.messages)
        summary = session.redact(result.message.content)
        session.messages = compacted(summary, plan.recent, plan.before)
        session.emit(Compacted(model=route.model, messages_before=before, messages_after=len(session.messages),
                               kept=len(plan.recent), summary=summary, kept_before=len(plan.before),
                               folded_calls=plan.folded_calls))
        return True
