"""The driver's model calls: routed, asked again once after an empty reply, and moved to another model when a
provider stays down (ProviderUnavailable → the router marks it down → the next model that can serve)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from agent.events import Notice, StepRouted, TurnFailed
from agent.modelcall import ModelCaller
from agent.outcome import Outcome
from agent.prompt_assembly import PromptAssembly
from agent.providers.base import ModelResult
from agent.providers.errors import AuthError, ProviderError, ProviderUnavailable
from agent.roles import Role
from agent.router import Route, Router
from agent.session import Session
from agent.spend.budget import estimate_call_usd
from agent.stop import Stop
from agent.stream_estimate import StreamEstimate
from agent.window import output_limit


@dataclass(frozen=True)
class Answer:
    """A model's answer to the prompt, the model that gave it and when its call started (its price depends on it)."""

    model: str
    result: ModelResult
    started: dt.datetime
    role: Role = "execute"
    reason: str = ""


class FallbackCalls:
    """Asks the routed model for the next answer; a provider that stays down hands over to the next model."""

    def __init__(self, session: Session, router: Router, calls: ModelCaller, prompt: PromptAssembly,
                 max_cost: Decimal | None) -> None:
        self.session, self.router, self.calls, self.prompt = session, router, calls, prompt
        self._max_cost = max_cost

    def route(self, announce: bool = True) -> Route:
        previous = self.router.current
        route = self.router.main(self.prompt.current_tokens(previous), self.session.ledger.total_usd, self._max_cost)
        if announce and previous and route.model != previous:
            self.session.emit(StepRouted(kind="switch", model=route.model, role=route.role,
                                         reason=f"{previous} → {route.model}: {route.reason}"))
        return route

    async def answer(self, turn: int, route: Route) -> Answer:
        """The answer of `route`'s model, or of the models the router falls back to; Stop when none answers."""
        while True:
            try:
                return await self._ask(turn, route)
            except ProviderError as exc:
                self.session.emit(TurnFailed(turn=turn, error=str(exc)))  # for schema-1 readers, beside call.completed
                route = await self._fallback(route, exc)

    async def _fallback(self, route: Route, exc: ProviderError) -> Route:
        if isinstance(exc, AuthError):
            raise Stop(Outcome.CONFIG_ERROR, f"{route.model}: {exc}") from exc
        if not isinstance(exc, ProviderUnavailable):
            raise Stop(Outcome.NOT_DONE, f"{route.model} refused the request: {exc}") from exc
        self.router.mark_down(route.model)
        failed, route = route.model, self.route(announce=False)
        if route.model == failed or route.model in self.router.down:
            raise Stop(Outcome.UNAVAILABLE, f"{failed} unavailable and nothing else can serve: {exc}") from exc
        await self.prompt.ready(route.model)
        # One visible line, with the price ratio across vendors; the budget's pre-flight counts the move.
        self.session.emit(Notice(level="warning", message=self.router.fallback_line(failed, route.model)))
        self.session.emit(StepRouted(kind="fallback", model=route.model, role=route.role,
                                     reason=f"{failed} stayed unavailable after retries ({exc})"))
        if self._max_cost is not None:
            spent = self.session.ledger.total_usd
            estimate = estimate_call_usd(route.model, self.prompt.messages_for(route.model), self.session.ledger,
                                         self.calls.prices, at=self.calls.clock())
            if spent + estimate > self._max_cost:
                raise Stop(Outcome.BUDGET, f"budget ${self._max_cost} cannot carry the fallback to {route.model}: "
                                           f"spent ${spent:.4f}, next call estimated at ${estimate:.4f}") from exc
        return route

    async def _ask(self, turn: int, route: Route) -> Answer:
        """One call (asked again once if the reply is empty)."""
        model, session = route.model, self.session
        spec = session.config.model_spec(model)
        effort = spec.escalated_effort if self.router.escalated and spec.escalated_effort else None
        messages = self.prompt.messages_for(model)
        tools = self.prompt.schemas_for(model)
        limit = output_limit(spec, self.prompt.estimate(model, messages))
        started = self.calls.clock()
        input_usd = estimate_call_usd(model, messages, session.ledger, self.calls.prices, output_tokens=0, at=started)
        stream = StreamEstimate(session, turn, model, self.calls.prices.pricing_at(model, started), input_usd)
        result = await self.calls.call(model, messages, tools, role=route.role, reason=route.reason, on_delta=stream,
                                       started=started, effort=effort, max_output_tokens=limit, record=False)
        if not result.message.content and not result.message.tool_calls and not result.truncated:
            # A known DeepSeek slip: an empty reply right after tool results. Ask once more.
            session.emit(Notice(level="warning", message=f"{model} sent an empty reply; asking again"))
            self.calls.record(model, result.usage, result.sent_at or started, role=route.role, reason=route.reason)
            started = self.calls.clock()
            stream.again()
            result = await self.calls.call(model, messages, tools, role=route.role,
                                           reason="the reply was empty: asked again",
                                           on_delta=stream, started=started, effort=effort, max_output_tokens=limit,
                                           record=False)
        return Answer(model, result, started, route.role, route.reason)
