"""A running cost estimate while an answer streams: the spend panel moves before the usage arrives."""

from __future__ import annotations

import time
from decimal import Decimal

from agent.events import MessageDelta, StreamReset, UsageEstimate
from agent.session import Session
from agent.spend.prices import Pricing

ESTIMATE_EVERY_S = 0.25
CHARS_PER_OUTPUT_TOKEN = 4


class StreamEstimate:
    """The delta sink of one model call: shows each delta and, at most every ESTIMATE_EVERY_S, the call's
    estimated cost so far. The estimate only ever goes up, even when a cut stream starts over."""

    def __init__(self, session: Session, turn: int, model: str, pricing: Pricing | None, input_usd: Decimal) -> None:
        self._session, self._turn, self._model = session, turn, model
        self._pricing, self._input_usd = pricing, input_usd
        self._chars = 0
        self._last = 0.0
        self._shown = Decimal(0)

    def again(self) -> None:
        """A new call for the same prompt (an empty reply asked again): its estimate starts from nothing."""
        self._shown = Decimal(0)

    def __call__(self, kind: str, text: str) -> None:
        session = self._session
        if kind == "reset":
            self._chars = 0
            session.emit(StreamReset(turn=self._turn))
            return
        session.emit(MessageDelta(turn=self._turn, kind=kind, text=text))  # type: ignore[arg-type]
        self._chars += len(text)
        now = time.monotonic()
        pricing = self._pricing
        if pricing is not None and now - self._last >= ESTIMATE_EVERY_S:
            self._last = now
            out = self._chars // CHARS_PER_OUTPUT_TOKEN
            call = self._input_usd + pricing.output * pricing.multiplier * out / 1_000_000
            self._shown = max(self._shown, call)
            session.emit(UsageEstimate(model=self._model, output_tokens=out, call_usd=str(self._shown),
                                       session_usd=str(session.ledger.total_usd + self._shown)))
