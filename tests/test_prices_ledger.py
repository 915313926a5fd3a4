import datetime as dt
from decimal import Decimal
from pathlib import Path

from agent.config import load_config
from agent.providers.usage_parse import parse_usage
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceRow, PriceTable
from agent.spend.usage import TokenUsage, price_usage

DAY = dt.date(2026, 4, 25)  # launch prices: in force from 2026-04-24 until the cut of 2026-04-26 12:15 UTC


def cost(model: str, prompt: int, hit: int, out: int, table: PriceTable | None = None) -> Decimal:
    usage = TokenUsage(input_tokens=prompt, cache_hit_tokens=hit, output_tokens=out)
    return price_usage(model, usage, table or PriceTable.builtin(), DAY).cost_usd


def test_flash_with_cache_hits_matches_hand_computation() -> None:
    # 200,000 miss × $0.14 + 800,000 hit × $0.028 + 50,000 out × $0.28, per million
    assert cost("deepseek-v4-flash", 1_000_000, 800_000, 50_000) == Decimal("0.0644")


def test_pro_with_cache_hits_matches_hand_computation() -> None:
    # 20,000 × 1.74 + 100,000 × 0.145 + 3,000 × 3.48 = 0.0348 + 0.0145 + 0.01044
    assert cost("deepseek-v4-pro", 120_000, 100_000, 3_000) == Decimal("0.05974")


def test_gpt55_cached_input_is_not_billed_twice() -> None:
    # 10,000 × $5 + 40,000 cached × $0.50 + 2,000 × $30 = 0.05 + 0.02 + 0.06
    assert cost("gpt-5.5", 50_000, 40_000, 2_000) == Decimal("0.13")
    assert cost("gpt-5.5-pro", 10_000, 0, 1_000) == Decimal("0.48")


def test_usage_shapes_of_both_providers_price_the_same_tokens() -> None:
    deepseek = parse_usage({"prompt_tokens": 120_000, "completion_tokens": 3_000, "prompt_cache_hit_tokens": 100_000,
                            "prompt_cache_miss_tokens": 20_000,
                            "completion_tokens_details": {"reasoning_tokens": 1_000}})
    openai_shape = parse_usage({"prompt_tokens": 120_000, "completion_tokens": 3_000,
                                "prompt_tokens_details": {"cached_tokens": 100_000},
                                "completion_tokens_details": {"reasoning_tokens": 1_000}})
    assert deepseek == openai_shape
    assert deepseek.cache_miss_tokens == 20_000 and deepseek.reasoning_tokens == 1_000
    table = PriceTable.builtin()
    assert price_usage("deepseek-v4-pro", deepseek, table, DAY).cost_usd == Decimal("0.05974")


def test_deepseek_fields_win_when_both_shapes_present() -> None:
    usage = parse_usage({"prompt_tokens": 1000, "completion_tokens": 10, "prompt_cache_hit_tokens": 640,
                         "prompt_cache_miss_tokens": 360, "prompt_tokens_details": {"cached_tokens": 0}})
    assert usage.cache_hit_tokens == 640


def test_dated_rows_newer_row_applies_from_its_date() -> None:
    cut = PriceRow(model="deepseek-v4-flash", since=dt.date(2026, 12, 1), input=Decimal("0.07"),
                   cached_input=Decimal("0.014"), output=Decimal("0.14"))
    table = PriceTable.builtin([cut])
    before = table.price_for("deepseek-v4-flash", dt.date(2026, 11, 30))
    after = table.price_for("deepseek-v4-flash", dt.date(2026, 12, 1))
    assert before is not None and before.input == Decimal("0.44")
    assert after is not None and after.input == Decimal("0.07")


def test_user_config_adds_a_dated_price_row(tmp_path: Path) -> None:
    (tmp_path / ".config/duet").mkdir(parents=True)  # the user's file (a project's prices need trust)
    (tmp_path / ".config/duet/config.toml").write_text(
        '[[prices]]\nmodel = "gpt-5.5"\nsince = 2026-04-23\ninput = 4.0\ncached_input = 0.4\noutput = 24.0\n')
    table = load_config(tmp_path, environ={"HOME": str(tmp_path)}).price_table()
    assert cost("gpt-5.5", 1_000_000, 0, 0, table) == Decimal("4.0")


def test_ledger_sums_per_model_and_session() -> None:
    table = PriceTable.builtin()
    ledger = Ledger()
    for model, prompt, hit, out in [("deepseek-v4-pro", 120_000, 100_000, 3_000), ("gpt-5.5", 50_000, 40_000, 2_000),
                                    ("deepseek-v4-pro", 120_000, 100_000, 3_000)]:
        usage = TokenUsage(input_tokens=prompt, cache_hit_tokens=hit, output_tokens=out)
        ledger.add(price_usage(model, usage, table, DAY))
    spend = ledger.by_model()
    assert spend["deepseek-v4-pro"].calls == 2
    assert spend["deepseek-v4-pro"].cost_usd == Decimal("0.11948")
    assert spend["deepseek-v4-pro"].cache_hit_tokens == 200_000
    assert ledger.total_usd == Decimal("0.24948")


def test_unknown_model_is_marked_unpriced() -> None:
    record = price_usage("mystery", TokenUsage(input_tokens=10, output_tokens=1), PriceTable.builtin(), DAY)
    assert record.priced is False and record.cost_usd == 0


def test_the_counterfactual_reprices_each_call_at_gpt55s_row_of_its_time_and_splits_by_role() -> None:
    from agent.spend.counterfactual import counterfactual, counterfactual_lines

    utc = dt.UTC
    table = PriceTable([
        PriceRow(model="gpt-5.5", since=dt.datetime(2026, 1, 1, tzinfo=utc), input="5", cached_input="0.5",
                 output="30"),
        PriceRow(model="gpt-5.5", since=dt.datetime(2026, 6, 1, tzinfo=utc), input="4", cached_input="0.4",
                 output="20"),
        PriceRow(model="deepseek-v4-flash", since=dt.datetime(2026, 1, 1, tzinfo=utc), input="0.14",
                 cached_input="0.028", output="0.28"),
    ])
    may, july = dt.datetime(2026, 5, 1, tzinfo=utc), dt.datetime(2026, 7, 1, tzinfo=utc)
    records = [
        price_usage("deepseek-v4-flash", TokenUsage(input_tokens=1_000_000, cache_hit_tokens=400_000,
                                                    output_tokens=100_000), table, may),
        price_usage("gpt-5.5", TokenUsage(input_tokens=10_000, output_tokens=2_000), table, july, role="plan"),
        price_usage("deepseek-v4-flash", TokenUsage(input_tokens=500, output_tokens=5), table, july,
                    role="classify"),
        price_usage("local-coder", TokenUsage(input_tokens=9_999, output_tokens=9), table, july),  # unpriced
    ]
    view = counterfactual(records, table)
    # actual: 600k×0.14 + 400k×0.028 + 100k×0.28 = 0.1232; 10k×4 + 2k×20 = 0.08; 500×0.14 + 5×0.28 = 0.0000714
    assert Decimal(view.actual_usd_exact) == Decimal("0.2032714") == Ledger.of(records).total_usd
    # all on gpt-5.5, each at the row of its day: May 600k×5 + 400k×0.5 + 100k×30 = 6.2; July 0.08; 500×4 + 5×20
    assert Decimal(view.all_on_reference_usd_exact or "") == Decimal("6.2821")
    assert Decimal(view.saved_usd_exact or "") == Decimal("6.0788286")
    assert {role: Decimal(r.usd_exact) for role, r in view.roles.items()} == {
        "classify": Decimal("0.0000714"), "execute": Decimal("0.1232"), "plan": Decimal("0.08")}
    assert view.roles["execute"].calls == 2 and view.roles["execute"].unpriced_calls == 1 and view.unpriced_calls == 1
    assert view.roles["plan"].share == float(Decimal("0.08") / Decimal("0.2032714"))
    assert counterfactual_lines(view)[1:] == [
        "all on gpt-5.5: $6.2821 (saved $6.0788)", "by role: classify 0% ($0.0001), execute 61% ($0.1232), "
                                                   "plan 39% ($0.0800)"]
    # with no price for gpt-5.5 there is no counterfactual figure (never a made-up 0)
    flash_only = PriceTable([row for row in table.rows() if row.model != "gpt-5.5"])
    assert counterfactual(records, flash_only).all_on_reference_usd_exact is None
