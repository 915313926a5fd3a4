"""The repository context of a session: planned once per model on first use, then fixed (a stable prefix)."""

from __future__ import annotations

from collections.abc import Callable

from agent.context.plan import ContextBuilder, ContextPlan
from agent.events import ContextBuilt, Event
from prompts import render


class ContextSource:
    """Plans are made lazily, so hints (the task, test failures) given before the first call shape them."""

    def __init__(self, builder: ContextBuilder, emit: Callable[[Event], None]) -> None:
        self._builder = builder
        self._emit = emit
        self._plans: dict[str, ContextPlan] = {}
        self.hints: list[str] = []

    def add_hint(self, text: str) -> None:
        if not self._plans:  # once a plan exists the prefix must not change
            self.hints.append(text)

    def plan_for(self, model: str) -> ContextPlan:
        if model not in self._plans:
            plan = self._builder.plan(model, self.hints)
            self._plans[model] = plan
            self._emit(ContextBuilt(model=model, kind=plan.kind, tokens=plan.tokens,
                                    workspace_tokens=plan.workspace_tokens, files_packed=len(plan.packed),
                                    files_mapped=len(plan.mapped), files_skipped=len(plan.skipped)))
        return self._plans[model]

    def text_for(self, model: str) -> str:
        plan = self.plan_for(model)
        if plan.kind == "pack":
            return "\n\n" + render("context_pack") + "\n\n" + plan.text
        return "\n\n" + render("context_map") + "\n\n" + plan.text
