"""Dated price table with hours of the day: which row prices a call started at a given moment, and at what rate."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MILLION = Decimal(1_000_000)
MINUTES_PER_DAY = 24 * 60


def utc_now() -> dt.datetime:
    """The current moment in UTC (the default clock of everything priced)."""
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime | dt.date) -> dt.datetime:
    """A moment in UTC: a date means its midnight UTC, a naive datetime is taken as UTC already."""
    if not isinstance(moment, dt.datetime):
        return dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def parse_window(text: str) -> tuple[int, int]:
    """'06:00-10:00' → (360, 600) minutes of the UTC day; the end is exclusive and may wrap past midnight."""
    try:
        start, end = (part.strip() for part in text.split("-"))
        minutes = []
        for part in (start, end):
            hours, mins = part.split(":")
            value = int(hours) * 60 + int(mins)
            if not (0 <= int(mins) < 60 and 0 <= value <= MINUTES_PER_DAY):
                raise ValueError
            minutes.append(value)
    except ValueError:
        raise ValueError(f"peak window {text!r} must look like '06:00-10:00' (UTC, 24-hour clock)") from None
    if minutes[0] % MINUTES_PER_DAY == minutes[1] % MINUTES_PER_DAY:
        raise ValueError(f"peak window {text!r} is empty")
    return minutes[0] % MINUTES_PER_DAY, minutes[1]


def _in_window(minute: int, window: tuple[int, int]) -> bool:
    start, end = window
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps past midnight, e.g. 22:00-02:00


class PriceRow(BaseModel):
    """Prices of one model per million tokens, in force from `since` until a newer row of the same model.

    With `peak_hours_utc`, the prices are the peak prices and every other minute of the day is billed at
    `offpeak_multiplier` times them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="Catalog model name the row applies to.")
    since: dt.datetime = Field(description="First moment the row is in force (a date means 00:00 UTC).")
    input: Decimal = Field(ge=0, description="USD per million uncached input tokens.")
    cached_input: Decimal = Field(ge=0, description="USD per million cache-hit input tokens.")
    output: Decimal = Field(ge=0, description="USD per million output tokens (reasoning included).")
    peak_hours_utc: tuple[str, ...] = Field(default=(), description="Peak windows, e.g. '06:00-10:00' (UTC).")
    offpeak_multiplier: Decimal = Field(default=Decimal(1), gt=0, description="Rate outside the peak windows.")
    source: str = Field(default="", description="Where the figures come from.")
    confirmed: bool = Field(default=True, description="False when the provider's own page does not confirm them.")

    @field_validator("input", "cached_input", "output", "offpeak_multiplier", mode="before")
    @classmethod
    def _exact_decimal(cls, value: object) -> object:
        # TOML floats like 0.028 must become Decimal('0.028'), not the binary float's expansion.
        return str(value) if isinstance(value, float) else value

    @field_validator("since", mode="before")
    @classmethod
    def _moment(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return as_utc(dt.date.fromisoformat(value))
            except ValueError:
                return as_utc(dt.datetime.fromisoformat(value))
        return as_utc(value) if isinstance(value, dt.date) else value

    @field_validator("peak_hours_utc")
    @classmethod
    def _windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for window in value:
            parse_window(window)
        return value

    @model_validator(mode="after")
    def _multiplier_needs_hours(self) -> PriceRow:
        if self.offpeak_multiplier != 1 and not self.peak_hours_utc:
            raise ValueError("offpeak_multiplier needs peak_hours_utc (which hours are peak?)")
        return self

    def is_peak(self, at: dt.datetime) -> bool | None:
        """Whether the minute `at` falls in a peak window; None when the row has no hours of the day."""
        if not self.peak_hours_utc:
            return None
        moment = as_utc(at)
        minute = moment.hour * 60 + moment.minute
        return any(_in_window(minute, parse_window(w)) for w in self.peak_hours_utc)

    def peak_window(self, at: dt.datetime) -> str | None:
        """The peak window containing `at`, as written in the row."""
        moment = as_utc(at)
        minute = moment.hour * 60 + moment.minute
        return next((w for w in self.peak_hours_utc if _in_window(minute, parse_window(w))), None)


class Pricing(BaseModel):
    """How one call was priced: the row in force at its start, and whether its first minute was peak."""

    model_config = ConfigDict(frozen=True)

    since: dt.datetime
    peak: bool | None = Field(description="True/False under a row with hours; None for a flat row.")
    window: str = Field(description="The peak window that applied, or what applied instead.")
    multiplier: Decimal = Field(description="Applied to the row's prices (1 at peak or for a flat row).")
    input: Decimal
    cached_input: Decimal
    output: Decimal
    source: str = ""
    confirmed: bool = True

    def describe(self) -> str:
        """One line for people: which row and which window priced the call."""
        since = self.since.strftime("%Y-%m-%d %H:%M UTC").replace(" 00:00 UTC", "")
        rates = f"{self.cached_input} / {self.input} / {self.output} per M (hit / miss / out)"
        if self.peak is None:
            when = "flat rate"
        elif self.peak:
            when = f"peak {self.window}"
        else:
            when = f"off-peak ×{self.multiplier}"
        note = "" if self.confirmed else ", unconfirmed"
        return f"row since {since} ({rates}), {when}" + (f" [{self.source}{note}]" if self.source or note else "")


def pricing_of(row: PriceRow, at: dt.datetime) -> Pricing:
    """What `row` charges for a call started at `at`."""
    peak = row.is_peak(at)
    if peak is None:
        window, multiplier = "all day", Decimal(1)
    elif peak:
        window, multiplier = row.peak_window(at) or "", Decimal(1)
    else:
        window, multiplier = "off-peak", row.offpeak_multiplier
    return Pricing(since=row.since, peak=peak, window=window, multiplier=multiplier, input=row.input,
                   cached_input=row.cached_input, output=row.output, source=row.source, confirmed=row.confirmed)


class PriceTable:
    """All known price rows; answers "what did this model cost at this moment"."""

    def __init__(self, rows: list[PriceRow]) -> None:
        self._rows: dict[str, list[PriceRow]] = {}
        for row in rows:
            self._rows.setdefault(row.model, []).append(row)
        for model_rows in self._rows.values():
            # Stable: of two rows from the same moment, the later one given (the user's config) wins.
            model_rows.sort(key=lambda r: r.since)

    @classmethod
    def builtin(cls, extra: list[PriceRow] | None = None) -> PriceTable:
        """The table shipped with Duet plus any rows from the user's configuration."""
        return cls(load_builtin_rows() + list(extra or []))

    def price_for(self, model: str, at: dt.datetime | dt.date | None = None) -> PriceRow | None:
        """The row in force for `model` at `at` (now if omitted), or None if the model has no row.

        A moment before the model's first row gets that first row: a call is never free for being early.
        """
        moment = as_utc(at) if at is not None else utc_now()
        rows = self._rows.get(model)
        if not rows:
            return None
        in_force = [r for r in rows if r.since <= moment]
        return in_force[-1] if in_force else rows[0]

    def pricing_at(self, model: str, at: dt.datetime | dt.date | None = None) -> Pricing | None:
        """The row and window that price a call to `model` started at `at` (now if omitted)."""
        moment = as_utc(at) if at is not None else utc_now()
        row = self.price_for(model, moment)
        return pricing_of(row, moment) if row else None

    def rows(self) -> list[PriceRow]:
        """Every row, by model then date."""
        return [row for model in sorted(self._rows) for row in self._rows[model]]

    def in_force(self, at: dt.datetime | dt.date | None = None) -> list[PriceRow]:
        """The row in force for each model at `at` (now if omitted)."""
        found = (self.price_for(model, at) for model in sorted(self._rows))
        return [row for row in found if row is not None]


def load_builtin_rows() -> list[PriceRow]:
    text = resources.files("agent.spend").joinpath("prices.toml").read_text(encoding="utf-8")
    return [PriceRow.model_validate(row) for row in tomllib.loads(text).get("price", [])]


def cost_usd(price: PriceRow | Pricing, *, cache_miss: int, cache_hit: int, output: int) -> Decimal:
    """Exact cost of one call in USD at `price`'s rates (a row: its peak rates; round only for display)."""
    total = price.input * cache_miss + price.cached_input * cache_hit + price.output * output
    multiplier = price.multiplier if isinstance(price, Pricing) else Decimal(1)
    return total * multiplier / MILLION


def highest_rates(rows: list[PriceRow]) -> tuple[Decimal, Decimal, Decimal] | None:
    """The highest (input, cached input, output) rate any of `rows` ever charges, off-peak included."""
    if not rows:
        return None
    rates = [(r.input, r.cached_input, r.output, max(Decimal(1), r.offpeak_multiplier)) for r in rows]
    return (max(i * m for i, _, _, m in rates), max(c * m for _, c, _, m in rates),
            max(o * m for _, _, o, m in rates))


def charges_at_least(row: PriceRow, table: PriceTable) -> bool:
    """Whether `row` (from a source that may only raise prices) charges, at every hour and per field, at least
    the highest rate `table` knows for its model. A model `table` has no price for gets none from such a source:
    its calls stay unpriced, never cheap."""
    highest = highest_rates([r for r in table.rows() if r.model == row.model])
    if highest is None or row.offpeak_multiplier < 1:
        return False
    return all(ours <= theirs for ours, theirs in zip(highest, (row.input, row.cached_input, row.output),
                                                       strict=True))
