"""Prices by the hour: the row in force when a call starts, and whether that minute is peak."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from agent.providers.usage_parse import parse_usage
from agent.spend.prices import PriceRow, PriceTable
from agent.spend.usage import TokenUsage, price_usage

UTC = dt.UTC
# 1,000,000 prompt tokens (800,000 cache hits) and 50,000 out.
USAGE = TokenUsage(input_tokens=1_000_000, cache_hit_tokens=800_000, output_tokens=50_000)
# V4-Flash from 2026-08-16 at peak: 200,000 × 0.44 + 800,000 × 0.014 + 50,000 × 1.32, per million
FLASH_PEAK = Decimal("0.088") + Decimal("0.0112") + Decimal("0.066")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def flash(moment: str, table: PriceTable | None = None) -> Decimal:
    return price_usage("deepseek-v4-flash", USAGE, table or PriceTable.builtin(), at(moment)).cost_usd


@pytest.mark.parametrize(("moment", "peak"), [
    ("2026-11-24 00:59", False), ("2026-11-24 01:00", True), ("2026-11-24 03:59", True),
    ("2026-11-24 04:00", False), ("2026-11-24 05:59", False), ("2026-11-24 06:00", True),
    ("2026-11-24 09:59", True), ("2026-11-24 10:00", False), ("2026-11-24 20:30", False),
])
def test_both_sides_of_each_peak_window(moment: str, peak: bool) -> None:
    assert flash(moment) == (FLASH_PEAK if peak else FLASH_PEAK / 2)
    record = price_usage("deepseek-v4-flash", USAGE, PriceTable.builtin(), at(moment))
    assert record.pricing is not None and record.pricing.peak is peak
    assert record.started_at == at(moment) and record.day == dt.date(2026, 11, 24)


def test_both_sides_of_each_since_moment() -> None:
    # Launch: 200,000 × 0.14 + 800,000 × 0.028 + 50,000 × 0.28
    assert flash("2026-04-26 12:14") == Decimal("0.028") + Decimal("0.0224") + Decimal("0.014")
    # From 2026-04-26 12:15 UTC the cache-hit price is a tenth: 800,000 × 0.0028
    assert flash("2026-04-26 12:15") == Decimal("0.028") + Decimal("0.00224") + Decimal("0.014")
    # The last minute before the peak/off-peak row, then its first minute (00:00 is off-peak), then peak.
    assert flash("2026-08-15 23:59") == Decimal("0.04424")
    assert flash("2026-08-16 00:00") == FLASH_PEAK / 2
    assert flash("2026-08-16 01:00") == FLASH_PEAK


def test_pro_prices_as_of_today_peak_and_off_peak() -> None:
    # V4-Pro 2026-11-24 at 07:30 (peak): 200,000 × 1.32 + 800,000 × 0.044 + 50,000 × 3.96 = 0.264+0.0352+0.198
    table = PriceTable.builtin()
    peak = price_usage("deepseek-v4-pro", USAGE, table, at("2026-11-24 07:30"))
    off = price_usage("deepseek-v4-pro", USAGE, table, at("2026-11-24 20:30"))
    assert peak.cost_usd == Decimal("0.4972") and off.cost_usd == Decimal("0.2486")
    assert peak.pricing and "peak 06:00-10:00" in peak.pricing.describe()
    assert off.pricing and "off-peak ×0.5" in off.pricing.describe()


def test_builtin_rows_name_their_source_and_flag_unconfirmed_figures() -> None:
    rows = PriceTable.builtin().rows()
    assert all(row.source for row in rows)
    unconfirmed = {(r.model, r.since.date().isoformat()) for r in rows if not r.confirmed}
    assert ("deepseek-v4-pro", "2026-04-24") in unconfirmed  # the launch cache-hit figure
    assert ("deepseek-v4-flash", "2026-08-16") not in unconfirmed
    dated = [r.since for r in rows if r.model == "deepseek-v4-flash"]
    assert dated == [at("2026-04-24 00:00"), at("2026-04-26 12:15"), at("2026-08-16 00:00")]


def test_a_window_may_wrap_past_midnight() -> None:
    row = PriceRow(model="m", since=dt.date(2026, 1, 1), input=Decimal(1), cached_input=Decimal(1),
                   output=Decimal(1), peak_hours_utc=("22:00-02:00",), offpeak_multiplier=Decimal("0.25"))
    assert row.is_peak(at("2026-11-24 23:30")) and row.is_peak(at("2026-11-24 01:59"))
    assert not row.is_peak(at("2026-11-24 02:00")) and not row.is_peak(at("2026-11-24 21:59"))


def write_config(tmp_path: Path, text: str) -> Path:
    """The user's own config (HOME = tmp_path): an untrusted project's cheaper rows would be ignored."""
    (tmp_path / ".config/duet").mkdir(parents=True, exist_ok=True)
    (tmp_path / ".config/duet/config.toml").write_text(text)
    return tmp_path


def test_user_config_row_with_hours(tmp_path: Path) -> None:
    write_config(tmp_path, '[[prices]]\nmodel = "deepseek-v4-flash"\nsince = 2026-11-20T08:00:00Z\n'
                           'input = 1.0\ncached_input = 0.1\noutput = 2.0\n'
                           'peak_hours_utc = ["12:00-14:00"]\noffpeak_multiplier = 0.25\n')
    table = load_config(tmp_path, environ={"HOME": str(tmp_path)}).price_table()
    # 200,000 × 1.0 + 800,000 × 0.1 + 50,000 × 2.0 = 0.38 at peak, a quarter off-peak
    assert flash("2026-11-24 12:00", table) == Decimal("0.38")
    assert flash("2026-11-24 14:00", table) == Decimal("0.095")
    assert flash("2026-11-20 07:59", table) == FLASH_PEAK  # the built-in row: 07:59 is peak there


@pytest.mark.parametrize(("row", "error"), [
    ('peak_hours_utc = ["6-10"]\noffpeak_multiplier = 0.5\n', "must look like '06:00-10:00'"),
    ('peak_hours_utc = ["25:00-26:00"]\n', "must look like '06:00-10:00'"),
    ("offpeak_multiplier = 0.5\n", "offpeak_multiplier needs peak_hours_utc"),
])
def test_bad_hours_are_one_clear_config_error(tmp_path: Path, row: str, error: str) -> None:
    write_config(tmp_path, '[[prices]]\nmodel = "x"\nsince = 2026-11-01\ninput = 1\ncached_input = 1\n'
                           'output = 1\n' + row)
    with pytest.raises(ConfigError, match=error):
        load_config(tmp_path, environ={"HOME": str(tmp_path)})


def test_deepseek_usage_with_only_the_miss_count() -> None:
    usage = parse_usage({"prompt_tokens": 1_000_000, "completion_tokens": 50_000,
                         "prompt_cache_miss_tokens": 200_000})
    assert usage.cache_hit_tokens == 800_000 and usage.cache_miss_tokens == 200_000
    assert price_usage("deepseek-v4-flash", usage, PriceTable.builtin(), at("2026-11-24 07:00")).cost_usd == \
        FLASH_PEAK
