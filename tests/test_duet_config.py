"""Routing is data: profiles and fallback chains come from config (the shipped agent/routes.toml merged under
the user's file), any configured model can fill any role, and the verdict parser reads what reviewers write."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.duet.verdict import parse_verdict
from agent.errors import ConfigError
from agent.messages import AssistantMessage, ToolCall
from agent.router import Router

LOCAL = """
[providers.local]
dialect = "compatible"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "LOCAL_KEY"

[models."local-v4"]
provider = "local"
context_window = 128000
max_output_tokens = 8000
images = true
fallback = ["deepseek-v4-flash"]

[routes.mine]
plan = "local-v4"
execute = "local-v4"
review = "gpt-5.5"
summary = "local-v4"

[routes.duet]
review = "local-v4"

[models."gpt-5.5"]
fallback = ["local-v4"]
"""


def config_with(tmp_path: Path, text: str, **overrides: object):
    home = tmp_path / "home"
    (home / ".config/duet").mkdir(parents=True, exist_ok=True)
    (home / ".config/duet/config.toml").write_text(text)
    return load_config(tmp_path, overrides, {"HOME": str(home)})


def test_the_builtin_profiles_are_shipped_config_entries(tmp_path: Path) -> None:
    config = load_config(tmp_path, {}, {"HOME": str(tmp_path)})
    assert set(config.routes) >= {"cheap", "balanced", "best", "duet"}
    duet = config.routes["duet"]
    assert (duet.plan, duet.execute, duet.review, duet.escalate) == ("gpt-5.5", "deepseek-v4-flash", "gpt-5.5",
                                                                      "gpt-5.5")
    assert config.models["deepseek-v4-pro"].fallback == ["gpt-5.5"]
    assert config.routes["balanced"].plan is None and Router(config).for_role("plan") is None


def test_a_users_model_fills_any_role_and_a_users_route_is_a_profile(tmp_path: Path) -> None:
    config = config_with(tmp_path, LOCAL, route="mine")
    router = Router(config)
    assert router.main().model == "local-v4"
    plan = router.for_role("plan")
    assert plan is not None and plan.model == "local-v4" and plan.role == "plan"
    for model in ("gpt-5.5", "gpt-5.5-pro"):
        router.mark_down(model)
    assert router.vision().model == "local-v4"  # images = true on its entry: no name decides it
    assert config.routes["duet"].review == "local-v4" and config.routes["duet"].plan == "gpt-5.5"  # merged
    assert config.models["gpt-5.5"].fallback == ["local-v4"]  # a chain is replaced, not extended
    router.mark_down("local-v4")
    assert router.main().model == "deepseek-v4-flash"  # its own fallback chain


def test_route_names_are_checked_but_auto_is_reserved(tmp_path: Path) -> None:
    assert load_config(tmp_path, {"route": "auto"}, {"HOME": str(tmp_path)}).route == "auto"
    with pytest.raises(ConfigError, match="unknown route 'fastest'"):
        load_config(tmp_path, {"route": "fastest"}, {"HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="names unknown model 'nope'"):
        config_with(tmp_path, '[routes.x]\nexecute = "nope"\n')
    with pytest.raises(ConfigError, match="fallback names unknown model"):
        config_with(tmp_path, '[models."gpt-5.5"]\nfallback = ["nope"]\n')


def test_no_fallback_keeps_the_down_model(tmp_path: Path) -> None:
    router = Router(load_config(tmp_path, {"fallback": False}, {"HOME": str(tmp_path)}))
    router.mark_down("deepseek-v4-pro")
    assert router.main().model == "deepseek-v4-pro"  # the loop reports it unavailable


def test_fallback_line_names_the_price_ratio_across_vendors_only(tmp_path: Path) -> None:
    router = Router(load_config(tmp_path, {}, {"HOME": str(tmp_path)}))
    line = router.fallback_line("deepseek-v4-pro", "gpt-5.5")
    assert line.startswith("deepseek-v4-pro unavailable: falling back to gpt-5.5 at ~") and "× the price" in line
    assert "price" not in router.fallback_line("deepseek-v4-pro", "deepseek-v4-flash")


def test_an_untrusted_project_cannot_pick_a_dearer_profile_or_define_routes(tmp_path: Path) -> None:
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet/config.toml").write_text('route = "duet"\n[routes.cheap]\nexecute = "gpt-5.5"\n')
    config = load_config(tmp_path, {}, {"HOME": str(tmp_path)})
    assert config.route == "balanced" and config.routes["cheap"].execute == "deepseek-v4-flash"
    assert any("route 'duet'" in w and "routes" in w for w in config.warnings)


@pytest.mark.parametrize("answer, tool_args, verdict, findings", [
    ('{"verdict": "approve", "findings": []}', None, "approve", 0),
    ('Here it is:\n```json\n{"verdict": "request_changes", "findings": ["missing a case"]}\n```', None,
     "request_changes", 1),
    ('Findings first. {"verdict": "changes requested", "findings": [{"severity": "HIGH", "path": "a.py", '
     '"message": "uses \\"}\\" badly"}]} done', None, "request_changes", 1),
    ("", '{"verdict": "approve"}', "approve", 0),
    ("I approve.", None, None, 0),
    ('{"verdict": "maybe"}', None, None, 0),
])
def test_verdicts_are_read_robustly(answer: str, tool_args: str | None, verdict: str | None, findings: int) -> None:
    calls = (ToolCall(id="c1", name="submit_review", arguments=tool_args),) if tool_args else ()
    parsed = parse_verdict(AssistantMessage(content=answer, tool_calls=calls))
    assert (parsed.verdict if parsed else None) == verdict
    assert len(parsed.findings if parsed else []) == findings
