"""One side call (plan, review): routed by role, checked against the budget before it is sent, recorded under
its role. The pieces of a session it needs, so `agent review` can make one without an agent loop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from agent.events import Notice, StepRouted
from agent.messages import Message
from agent.modelcall import ModelCaller
from agent.providers.base import ModelResult
from agent.roles import Role
from agent.router import Route, Router
from agent.session import Session
from agent.spend.budget import estimate_call_usd

# A plan or a verdict is short: what the pre-flight estimate assumes the answer costs.
SIDE_OUTPUT_TOKENS = 2_000


@dataclass
class SideCalls:
    """What a plan, review or escalation needs of a session: its events and ledger, its calls, its router, its
    budget (None: no limit)."""

    session: Session
    calls: ModelCaller
    router: Router
    max_cost: Decimal | None = None

    def over_budget(self, model: str, messages: Sequence[Message]) -> str:
        """Why the budget cannot carry this call (empty if it can)."""
        if self.max_cost is None:
            return ""
        spent = self.session.ledger.total_usd
        estimate = estimate_call_usd(model, messages, self.session.ledger, self.calls.prices,
                                     output_tokens=SIDE_OUTPUT_TOKENS, at=self.calls.clock())
        if spent + estimate <= self.max_cost:
            return ""
        return f"budget ${self.max_cost}: spent ${spent:.4f}, the call is estimated at ${estimate:.4f}"

    async def call(self, route: Route, messages: Sequence[Message], what: str) -> ModelResult | None:
        """`messages` to `route.model` under its role; None (with a notice) when the budget cannot carry it."""
        why = self.over_budget(route.model, messages)
        if why:
            self.session.emit(Notice(level="warning", message=f"{what} skipped: {why}"))
            return None
        role: Role = route.role
        self.session.emit(StepRouted(kind="review" if role == "review" else "plan", model=route.model,
                                     reason=route.reason, role=role))
        return await self.calls.call(route.model, messages, role=role, reason=route.reason)
