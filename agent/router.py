"""Which model serves each step, and why. Decisions are plain functions of the configuration and the
session's state, so they can be tested without I/O; the Router keeps the little state there is
(escalated, providers down, budget mode) so decisions don't flip-flop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from agent.config import Config, RouteConfig
from agent.roles import Role
from agent.spend.prices import PriceTable
from agent.window import fits

# Below this share of the budget left, a cheaper model takes over (if switching pays for itself).
BUDGET_LOW_FRACTION = Decimal("0.25")
# Turns assumed left when weighing a switch against the prompt cache it throws away.
TURNS_AHEAD = 6
OUTPUT_PER_TURN = 800


@dataclass(frozen=True)
class Profile:
    """The configured route (`[routes.NAME]`) as the router reads it: a model per role."""

    main: str
    escalate: str | None
    vision: str | None
    summary: str
    overflow: str | None = None  # takes over when the context outgrows the main model's window
    plan: str | None = None
    review: str | None = None

    @classmethod
    def of(cls, route: RouteConfig) -> Profile:
        return cls(main=route.execute, escalate=route.escalate, vision=route.vision,
                   summary=route.summary or route.execute, overflow=route.overflow, plan=route.plan,
                   review=route.review)


@dataclass(frozen=True)
class Route:
    model: str
    reason: str
    role: Role = "execute"


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
        return Profile.of(self.config.route_profile())

    def for_role(self, role: Role) -> Route | None:
        """The model for a side step of `role` (plan, review, escalate) in this profile, None when the profile
        takes no such step; a pinned model (`--model`) takes no plan or review."""
        model = self.config.route_profile().model_for(role)
        if model is None or (self.config.model and role in ("plan", "review")):
            return None
        return self._serviceable(Route(model, f"{role} in the {self.config.route!r} profile", role))

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
            route = Route(profile.escalate, "escalated after repeated failed attempts", "escalate")
        else:
            route = Route(profile.main, f"drives the conversation in the {config.route!r} profile")
        if not self._fits(route.model, context_tokens):
            longer = profile.overflow or self._longest_window()
            route = Route(longer, f"context (~{context_tokens:,} tokens) exceeds {route.model}'s window",
                          "overflow")
        if budget is not None and spent >= budget * (1 - BUDGET_LOW_FRACTION):
            cheaper = self._cheapest_fitting(context_tokens)
            if cheaper and cheaper != route.model and switch_pays(route.model, cheaper, max(context_tokens, 1),
                                                                   config.price_table()):
                self.budget_model = cheaper  # sticky: no flip-flopping once the budget is tight
                return Route(cheaper, f"budget nearly spent (${spent:.4f} of ${budget}): switching to the "
                                      "cheaper model")
        return route

    def _serviceable(self, route: Route) -> Route:
        """`route`, or the first model of its fallback chain (config `models.X.fallback`) that can serve."""
        if not self.config.fallback:
            return route  # `--no-fallback`: the caller reports the model unavailable
        seen = {route.model}
        queue = [route]
        while queue:
            current = queue.pop(0)
            if current.model not in self.down and self._usable(current.model):
                return current
            why = "is unavailable" if current.model in self.down else "has no API key set"
            spec = self.config.models.get(current.model)
            for nxt in spec.fallback if spec else ():
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(Route(nxt, f"fallback: {current.model} {why}", route.role))
        return route  # nothing else can serve; the caller reports it

    def fallback_line(self, failed: str, to: str) -> str:
        """The one line announcing a fallback, with the price ratio when the vendor (provider) changes."""
        config = self.config
        line = f"{failed} unavailable: falling back to {to}"
        same_vendor = (failed in config.models and to in config.models
                       and config.models[failed].provider == config.models[to].provider)
        prices = config.price_table()
        old, new = prices.price_for(failed), prices.price_for(to)
        if same_vendor or old is None or new is None or not (old.input + old.output):
            return line
        ratio = (new.input + new.output) / (old.input + old.output)
        shown = f"{ratio:.1f}".rstrip("0").rstrip(".") if ratio < 10 else f"{ratio:.0f}"
        return f"{line} at ~{shown}× the price"

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
        preferred = [self.profile.vision] if self.profile.vision else []
        candidates = [*preferred, *[m for m, s in self.config.models.items() if s.images]]
        if self.config.model and self.config.models[self.config.model].images:
            candidates.insert(0, self.config.model)
        for model in candidates:
            if model not in self.down and self._usable(model):
                return Route(model, "the step carries an image; the main model reads text only"
                             if not self.config.models[self.current or self.profile.main].images
                             else "the step carries an image", "vision")
        return Route(candidates[0] if candidates else self.profile.main, "the step carries an image", "vision")

    def summary_model(self) -> Route:
        return self._serviceable(Route(self.profile.summary, "summaries and compaction go to the cheap model",
                                       "summary"))

    def mark_down(self, model: str) -> None:
        self.down.add(model)

    def record_failed_attempt(self, failures: int) -> Route | None:
        """After `escalate_after` failed attempts, move up a tier once; returns the new route if it moved."""
        if self.escalated or self.config.model or not self.profile.escalate:
            return None
        if failures < self.config.escalate_after:
            return None
        self.escalated = True
        return Route(self.profile.escalate, f"escalated after {failures} failed attempts at the failing tests",
                     "escalate")
