"""The spend fold: dollars and tokens per model, the session total, the running estimate, the context in use
and the model now driving, all from the event stream (`usage`, `usage.estimate`, `call.started`, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from agent.events import (
    Event,
    ModelCallCompleted,
    ModelCallStarted,
    RunFinished,
    SessionStarted,
    StepRouted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    UsageEstimate,
    UsageEvent,
)
from agent.spend.counterfactual import Counterfactual, counterfactual
from agent.spend.ledger import ModelSpend
from agent.spend.usage import UsageRecord

if TYPE_CHECKING:
    from agent.config import Config
    from agent.spend.prices import PriceTable


class SpendFold:
    """What the spend panel shows. `windows` (model → context window) and `budget_usd` are the settings in force,
    handed down by the front end; a budget of None is taken from the stream (`session.started`)."""

    def __init__(self, windows: Mapping[str, int] | None = None, *, model: str = "",
                 budget_usd: Decimal | None = None, prices: PriceTable | None = None) -> None:
        self.models: dict[str, ModelSpend] = {}
        self.records: list[UsageRecord] = []
        """Every billed call of the session: what the counterfactual and the shares per role are made of."""
        self._prices = prices
        self.total_usd = Decimal(0)
        self.estimate: tuple[str, Decimal] | None = None
        """While a reply streams: its model and the running estimate of its cost."""
        self.model = model
        self.route = ""
        """Why the current model was chosen, as the last call or routing step said."""
        self.context_tokens = 0
        """The prompt the last call sent plus its answer, as the provider counted them."""
        self._windows = dict(windows or {})
        self._budget = budget_usd
        self._stream_budget: Decimal | None = None

    @classmethod
    def for_config(cls, config: Config) -> SpendFold:
        """A fold with the windows, the first model and the budget that `config` sets."""
        from agent.router import Router

        return cls({name: spec.context_window for name, spec in config.models.items()},
                   model=config.model or Router(config).profile.main,
                   budget_usd=None if config.max_cost is None else Decimal(str(config.max_cost)),
                   prices=config.price_table())

    @property
    def budget_usd(self) -> Decimal | None:
        return self._budget if self._budget is not None else self._stream_budget

    @property
    def context_window(self) -> int:
        return self._windows.get(self.model, 0)

    def apply(self, event: Event) -> bool:
        """Fold in `event`; True when it was one the panel shows something of."""
        if isinstance(event, UsageEvent):
            record = event.record
            self.records.append(record)
            self.models[record.model] = event.model_total
            self.total_usd = Decimal(event.session_usd)
            self.context_tokens = record.input_tokens + record.output_tokens
            self.estimate = None
        elif isinstance(event, UsageEstimate):
            self.estimate = (event.model, Decimal(event.call_usd))
        elif isinstance(event, ModelCallStarted | StepRouted) or (isinstance(event, TurnStarted) and event.model):
            self.model, self.route = event.model, event.reason  # a turn with a model: schema 1, one per call
        elif isinstance(event, ModelCallCompleted | TurnCompleted | TurnFailed | RunFinished):
            self.estimate = None
        elif isinstance(event, SessionStarted):
            if event.budget_usd is not None:
                self._stream_budget = Decimal(event.budget_usd)
            if not event.resumed:  # a new conversation (`/clear` too): nothing in the context yet; spend goes on
                self.context_tokens = 0
        else:
            return False
        return True

    def counterfactual(self) -> Counterfactual | None:
        """The session against the same tokens all on GPT-5.5, and the dollars per role (None: no prices known
        to this fold, or no call yet)."""
        if self._prices is None or not self.records:
            return None
        return counterfactual(self.records, self._prices)

    def settle(self) -> None:
        """The turn ended however it ended (an interrupt included): no reply is streaming any more."""
        self.estimate = None

    def shown_models(self) -> dict[str, tuple[ModelSpend | None, Decimal]]:
        """Per model, sorted by name: its billed totals (None for a model only estimated so far) and the
        dollars to show (billed, plus the running estimate for the model streaming now)."""
        rows: dict[str, tuple[ModelSpend | None, Decimal]] = {
            name: (spend, spend.cost_usd) for name, spend in sorted(self.models.items())}
        if self.estimate is not None:
            name, usd = self.estimate
            spend = self.models.get(name)
            rows[name] = (spend, (spend.cost_usd if spend else Decimal(0)) + usd)
        return rows

    @property
    def shown_total_usd(self) -> Decimal:
        return self.total_usd + (self.estimate[1] if self.estimate else 0)

    def unpriced_models(self) -> list[str]:
        return [name for name, spend in sorted(self.models.items()) if not spend.priced]
