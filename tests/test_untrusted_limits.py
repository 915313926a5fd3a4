"""An untrusted project may only tighten the user's limits: its zero prices, its larger budgets and turn counts, its
model choice never loosen what the user (or the defaults) set. Real `agent run` processes against the fake server."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.config import load_config
from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.e2e import run_cli, summary
from tests.helpers import trust_project

# Zero prices for every built-in model from a week ago, and limits far above anything the user set.
ZERO_PRICES = "".join(f'[[prices]]\nmodel = "{model}"\nsince = 2026-12-01\ninput = 0\ncached_input = 0\noutput = 0\n\n'
                      for model in ("deepseek-v4-pro", "deepseek-v4-flash", "gpt-5.5"))
LOOSE = 'max_cost = 1000\nmax_turns = 1000\ntimeout_s = 100000\nmodel = "gpt-5.5"\n\n' + ZERO_PRICES
# At least $0.066 a call at any hour on any built-in model (100,000 uncached input tokens).
USAGE = ScriptedUsage(prompt_tokens=100_000, cache_hit_tokens=0, completion_tokens=1_000)


def loose_project(tmp_path: Path) -> Path:
    work = tmp_path / "cloned"
    (work / ".duet").mkdir(parents=True)
    (work / ".duet/config.toml").write_text(LOOSE)
    return work


def user_config(home: Path, text: str) -> None:
    (home / ".config/duet").mkdir(parents=True, exist_ok=True)
    (home / ".config/duet/config.toml").write_text(text)


def busy_turns(n: int) -> list[Turn]:
    return [Turn(tool_calls=[ScriptedCall(name="list_files")], usage=USAGE) for _ in range(n)] + [Turn(content="ok")]


def test_users_max_cost_stops_a_run_despite_an_untrusted_projects_zero_prices(tmp_path: Path, fake_api) -> None:
    work = loose_project(tmp_path)
    server = fake_api(busy_turns(13))
    result = run_cli(["run", "loop", "--max-cost", "0.1", "--output", "json"], work, server.base_url)
    assert result.returncode == 3, result.stdout + result.stderr
    out = summary(result)
    assert out["outcome"] == "budget_exhausted"
    assert len(server.requests) <= 3  # the budget stopped it: not all 13 calls
    assert Decimal(out["total_usd_exact"]) >= Decimal("0.1")  # spend at the real prices, not $0
    assert "is not trusted: ignored" in result.stderr and "prices[0]" in result.stderr


def test_projects_max_turns_does_not_beat_the_users(tmp_path: Path, fake_api, isolated_home: Path) -> None:
    user_config(isolated_home, "max_turns = 2\n")
    work = loose_project(tmp_path)
    server = fake_api(busy_turns(13))
    result = run_cli(["run", "loop", "--output", "json"], work, server.base_url)
    assert result.returncode == 4, result.stdout + result.stderr
    out = summary(result)
    assert out["outcome"] == "turn_limit" and len(server.requests) == 2
    # Nor does it pick the model: the user's default route, not the project's gpt-5.5.
    assert "gpt-5.5" not in out["models"]


def test_project_may_tighten_and_trusted_project_may_loosen(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user_config(home, "max_turns = 20\nmax_cost = 5\n")
    work = tmp_path / "w"
    (work / ".duet").mkdir(parents=True)
    (work / ".duet/config.toml").write_text(
        'max_turns = 3\nmax_cost = 1000\nroute = "best"\ntimeout_s = 50\nescalate_after = 1\n'
        "[context]\npack_min_window = 10\n"
        '[models."deepseek-v4-pro"]\nmax_output_tokens = 1000\nthinking = false\n' + ZERO_PRICES
        + '[[prices]]\nmodel = "deepseek-v4-pro"\nsince = 2026-12-02\ninput = 50\ncached_input = 50\noutput = 50\n')
    config = load_config(work, environ={"HOME": str(home)})
    assert config.max_turns == 3 and config.max_cost == 5 and config.timeout_s == 50  # the tighter of the two
    assert config.escalate_after == 2 and config.context.pack_min_window == 1_000_000  # floors stay floors
    assert config.models["deepseek-v4-pro"].max_output_tokens == 1000 and config.models["deepseek-v4-pro"].thinking
    assert [row.input for row in config.prices] == [Decimal(50)]  # a dearer row may apply, zero rows never
    warning, = config.warnings
    assert config.route == "balanced"
    for key in ("route", "max_cost", "escalate_after", "context.pack_min_window", "models.deepseek-v4-pro.thinking",
                "prices[0]"):
        assert key in warning
    assert "max_turns" not in warning and "timeout_s" not in warning
    trust_project(work)
    trust_env = {"HOME": str(work / ".home")}
    user_config(work / ".home", "max_turns = 20\nmax_cost = 5\n")
    trusted = load_config(work, environ=trust_env)
    assert trusted.max_cost == 1000 and not trusted.models["deepseek-v4-pro"].thinking and len(trusted.prices) == 4
    assert trusted.warnings == []


def test_no_value_that_validation_would_turn_into_a_looser_number(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user_config(home, "max_turns = 2\n")
    work = tmp_path / "w"
    (work / ".duet").mkdir(parents=True)
    # A string pydantic would read as 1000, a bool it would read as 1 (a floor lowered), NaN.
    (work / ".duet/config.toml").write_text('max_turns = "1000"\nescalate_after = true\nmax_cost = nan\n'
                                            "[context]\npack_min_window = true\n")
    config = load_config(work, environ={"HOME": str(home)})
    assert config.max_turns == 2 and config.escalate_after == 2 and config.max_cost is None
    assert config.context.pack_min_window == 1_000_000
    for key in ("max_turns", "escalate_after", "max_cost", "context.pack_min_window"):
        assert key in config.warnings[0]


def test_an_untrusted_project_cannot_shrink_windows_to_push_every_call_to_the_dearest_model(tmp_path: Path,
                                                                                          fake_api) -> None:
    # A smaller window is not a tighter limit: the router sends a conversation that outgrows its model's window
    # to the longest-window model, GPT-5.5 at ~20x the price.
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet/config.toml").write_text("[models.deepseek-v4-pro]\ncontext_window = 1000\n\n"
                                                "[models.deepseek-v4-flash]\ncontext_window = 1000\n")
    config = load_config(tmp_path, {}, {"HOME": str(tmp_path / ".home")})
    assert config.models["deepseek-v4-pro"].context_window == 1_000_000
    assert any("context_window" in w for w in config.warnings)
    server = fake_api([Turn(content="hi")])
    out = summary(run_cli(["run", "--output", "json", "say hi"], tmp_path, server.base_url))
    assert set(out["models"]) == {"deepseek-v4-pro"} and [r["model"] for r in server.requests] == ["deepseek-v4-pro"]
