"""Which model serves each step, and why. Decisions are plain functions of the configuration and the
session's state, so they can be tested without I/O; the Router keeps the little state there is
(escalated, providers down, budget mode) so decisions don't flip-flop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from agent.config import Config, RouteProfile
from agent.spend.prices import PriceTable
from agent.window import fits

# Below this share of the budget left, a cheaper model takes over (if switching pays for itself).
BUDGET_LOW_FRACTION = Decimal("0.25")
# Turns assumed left when weighing a switch against the prompt cache it throws away.
TURNS_AHEAD = 6
OUTPUT_PER_TURN = 800


@dataclass(frozen=True)
class Profile:
    main: str
    escalate: str | None
    vision: str
    summary: str
    overflow: str | None = None  # takes over when the context outgrows the main model's window


PROFILES: dict[RouteProfile, Profile] = {
    "cheap": Profile(main="deepseek-v4-flash", escalate="deepseek-v4-pro", vision="gpt-5.5",
                     summary="deepseek-v4-flash"),
    "balanced": Profile(main="deepseek-v4-pro", escalate="gpt-5.5", vision="gpt-5.5", summary="deepseek-v4-flash"),
    "best": Profile(main="gpt-5.5", escalate=None, vision="gpt-5.5", summary="deepseek-v4-flash",
                    overflow="deepseek-v4-pro"),
}

# The other provider's equivalent, used when a provider stays down after retries.
FALLBACK: dict[str, str] = {
    "deepseek-v4-flash": "gpt-5.5",
    "deepseek-v4-pro": "gpt-5.5",
    "gpt-5.5": "deepseek-v4-pro",
    "gpt-5.5-pro": "deepseek-v4-pro",
}


@dataclass(frozen=True)
class Route:
    model: str
    reason: str


def switch_pays(current: str, candidate: str, context_tokens: int, prices: PriceTable) -> bool:
    """Does moving the conversation to `candidate` cost less over the next turns, counting the cache it loses?"""
    now, new = prices.price_for(current), prices.price_for(candidate)
    if now is None or new is None:
        return False
    stay = TURNS_AHEAD * (context_tokens * now.cached_input + OUTPUT_PER_TURN * now.output)
    move = (context_tokens * new.input + (TURNS_AHEAD - 1) * context_tokens * new.cached_input
            + TURNS_AHEAD * OUTPUT_PER_TURN * new.output)
    return move < stay


class Router:
    """Routes the steps of one session."""

    def __init__(self, config: Config, usable: Callable[[str], bool] = lambda _m: True) -> None:
        self.config = config
        self._usable = usable
        self.escalated = False
        self.down: set[str] = set()
        self.budget_model: str | None = None
        self.current: str | None = None

    @property
    def profile(self) -> Profile:
        return PROFILES[self.config.route]

    def main(self, context_tokens: int = 0, spent: Decimal = Decimal(0), budget: Decimal | None = None) -> Route:
        """The model for the next step of the main conversation."""
        route = self._preferred(context_tokens, spent, budget)
        route = self._serviceable(route)
        self.current = route.model
        return route

    def _preferred(self, context_tokens: int, spent: Decimal, budget: Decimal | None) -> Route:
        config, profile = self.config, self.profile
        if config.model:
            return Route(config.model, "pinned with --model / config `model`")
        if self.budget_model:
            return Route(self.budget_model, "budget nearly spent: the cheaper model carries on")
        if self.escalated and profile.escalate:
            route = Route(profile.escalate, "escalated after repeated failed attempts")
        else:
            route = Route(profile.main, f"drives the conversation in the {config.route!r} profile")
        if not self._fits(route.model, context_tokens):
            longer = profile.overflow or self._longest_window()
            route = Route(longer, f"context (~{context_tokens:,} tokens) exceeds {route.model}'s window")
        if budget is not None and spent >= budget * (1 - BUDGET_LOW_FRACTION):
            cheaper = self._cheapest_fitting(context_tokens)
            if cheaper and cheaper != route.model and switch_pays(route.model, cheaper, max(context_tokens, 1),
                                                                   config.price_table()):
                self.budget_model = cheaper  # sticky: no flip-flopping once the budget is tight
                return Route(cheaper, f"budget nearly spent (${spent:.4f} of ${budget}): switching to the "
                                      "cheaper model")
        return route

    def _serviceable(self, route: Route) -> Route:
        seen = {route.model}
        while route.model in self.down or not self._usable(route.model):
            why = "is unavailable" if route.model in self.down else "has no API key set"
            nxt = FALLBACK.get(route.model)
            if nxt is None or nxt in seen:
                return route  # nothing else can serve; the caller reports it
            seen.add(nxt)
            route = Route(nxt, f"fallback: {route.model} {why}")
        return route

    def _fits(self, model: str, context_tokens: int) -> bool:
        spec = self.config.models.get(model)
        return spec is None or fits(spec, context_tokens)

    def _longest_window(self) -> str:
        return max(self.config.models, key=lambda m: self.config.models[m].context_window)

    def _cheapest_fitting(self, context_tokens: int) -> str | None:
        prices = self.config.price_table()
        candidates = []
        for name in self.config.models:
            price = prices.price_for(name)
            if price and self._fits(name, context_tokens) and name not in self.down and self._usable(name):
                candidates.append((price.input + price.output, name))
        return min(candidates)[1] if candidates else None

    def vision(self) -> Route:
        """The model that looks at images (the vision sidecar)."""
        candidates = [self.profile.vision, *[m for m, s in self.config.models.items() if s.images]]
        if self.config.model and self.config.models[self.config.model].images:
            candidates.insert(0, self.config.model)
        for model in candidates:
            if model not in self.down and self._usable(model):
                return Route(model, "the step carries an image; the main model reads text only"
                             if not self.config.models[self.current or self.profile.main].images
                             else "the step carries an image")
        return Route(self.profile.vision, "the step carries an image")

    def summary_model(self) -> Route:
        return self._serviceable(Route(self.profile.summary, "summaries and compaction go to the cheap model"))

    def mark_down(self, model: str) -> None:
        self.down.add(model)

    def record_failed_attempt(self, failures: int) -> Route | None:
        """After `escalate_after` failed attempts, move up a tier once; returns the new route if it moved."""
        if self.escalated or self.config.model or not self.profile.escalate:
            return None
        if failures < self.config.escalate_after:
            return None
        self.escalated = True
        return Route(self.profile.escalate, f"escalated after {failures} failed attempts at the failing tests")
