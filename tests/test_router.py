"""Routing decisions as plain functions of configuration and state."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.config import load_config
from agent.router import Router, switch_pays


def router(tmp_path: Path, usable: set[str] | None = None, **overrides: object) -> Router:
    config = load_config(tmp_path, overrides, {"HOME": str(tmp_path)})
    return Router(config, (lambda m: m in usable) if usable is not None else (lambda _m: True))


def test_profiles_choose_their_main_model(tmp_path: Path) -> None:
    assert router(tmp_path, route="cheap").main().model == "deepseek-v4-flash"
    assert router(tmp_path).main().model == "deepseek-v4-pro"
    assert router(tmp_path, route="best").main().model == "gpt-5.5"
    pinned = router(tmp_path, route="best", model="deepseek-v4-flash").main()
    assert pinned.model == "deepseek-v4-flash" and "pinned" in pinned.reason


def test_best_moves_to_v4_pro_beyond_the_gpt_window(tmp_path: Path) -> None:
    r = router(tmp_path, route="best")
    assert r.main(context_tokens=300_000).model == "gpt-5.5"
    beyond = r.main(context_tokens=500_000)
    assert beyond.model == "deepseek-v4-pro" and "exceeds gpt-5.5's window" in beyond.reason


def test_images_go_to_gpt55_even_when_deepseek_drives(tmp_path: Path) -> None:
    r = router(tmp_path, route="cheap")
    r.main()
    vision = r.vision()
    assert vision.model == "gpt-5.5" and "reads text only" in vision.reason


def test_fallback_to_the_other_provider_when_down_or_keyless(tmp_path: Path) -> None:
    r = router(tmp_path)
    r.mark_down("deepseek-v4-pro")
    assert r.main().model == "gpt-5.5"
    only_deepseek = router(tmp_path, usable={"deepseek-v4-pro", "deepseek-v4-flash"}, route="best")
    route = only_deepseek.main()
    assert route.model == "deepseek-v4-pro" and "no API key" in route.reason
    r.mark_down("gpt-5.5")
    assert r.main().model in r.down  # nothing can serve: the caller reports it


def test_escalation_happens_once_after_the_configured_failures(tmp_path: Path) -> None:
    r = router(tmp_path, escalate_after=2)
    assert r.record_failed_attempt(1) is None
    moved = r.record_failed_attempt(2)
    assert moved is not None and moved.model == "gpt-5.5"
    assert r.main().model == "gpt-5.5" and r.record_failed_attempt(3) is None
    cheap = router(tmp_path, route="cheap", escalate_after=1)
    assert cheap.record_failed_attempt(1).model == "deepseek-v4-pro"  # type: ignore[union-attr]
    assert router(tmp_path, model="deepseek-v4-flash").record_failed_attempt(5) is None  # pinned stays


def test_switch_weighs_the_lost_prompt_cache(tmp_path: Path) -> None:
    prices = load_config(tmp_path, environ={"HOME": str(tmp_path)}).price_table()
    # GPT-5.5 with a warm 200K cache: moving to V4-Flash is cheaper even paying the cold prompt once.
    assert switch_pays("gpt-5.5", "deepseek-v4-flash", 200_000, prices)
    # V4-Pro → GPT-5.5 never pays.
    assert not switch_pays("deepseek-v4-pro", "gpt-5.5", 200_000, prices)
    # V4-Flash → V4-Pro on a big cached context: the uncached Pro prompt outweighs nothing gained.
    assert not switch_pays("deepseek-v4-flash", "deepseek-v4-pro", 500_000, prices)


def test_budget_near_the_limit_prefers_the_cheaper_model_and_stays(tmp_path: Path) -> None:
    r = router(tmp_path, route="best")
    assert r.main(10_000, spent=Decimal("0.50"), budget=Decimal("1.00")).model == "gpt-5.5"
    tight = r.main(10_000, spent=Decimal("0.80"), budget=Decimal("1.00"))
    assert tight.model == "deepseek-v4-flash" and "budget" in tight.reason
    assert r.main(10_000, spent=Decimal("0.10"), budget=Decimal("5.00")).model == "deepseek-v4-flash"  # no flip-flop
