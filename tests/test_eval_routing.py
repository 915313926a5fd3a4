"""The routing policy an eval writes (routing.toml) and what `--route auto` makes of it: Wilson intervals checked
against figures computed by hand, the decision rule, the file's round trip, and where a policy is looked for."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from agent.eval.results import EvalRow
from agent.routing.classify import parse_choice
from agent.routing.policy import choose, decide_policy, evidence, profile_of
from agent.routing.policy_file import RoutingPolicy, TagRoute, policy_of, read_policy, render_policy
from agent.routing.resolve import check_profile, choose_tag, find_policy, resolve_route
from agent.routing.wilson import wilson


def four(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))


# Hand-computed with z = 1.959964: centre = (p + z²/2n)/(1 + z²/n), half = z/(1 + z²/n)·√(p(1−p)/n + z²/4n²).
# 4/5: z²/n = 0.768292, centre = 1.184146/1.768292 = 0.669656, half = 1.108393 × √0.0704146 = 0.294120.
@pytest.mark.parametrize(("passed", "runs", "low", "high"), [
    (4, 5, "0.3755", "0.9638"),
    (8, 10, "0.4902", "0.9433"),
    (5, 10, "0.2366", "0.7634"),
    (10, 10, "0.7225", "1.0000"),   # centre 0.861234, half 0.138767: capped at 1
    (0, 10, "0.0000", "0.2775"),
    (2, 3, "0.2077", "0.9385"),
    (1, 1, "0.2065", "1.0000"),
])
def test_wilson_intervals_match_the_figures_worked_by_hand(passed: int, runs: int, low: str, high: str) -> None:
    interval = wilson(passed, runs)
    assert (four(interval.low), four(interval.high)) == (Decimal(low), Decimal(high))


def test_wilson_of_no_runs_knows_nothing_and_describes_itself() -> None:
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0, 1)
    assert wilson(4, 5).describe() == "4/5 = 80% (95% CI 38%–96%)"
    with pytest.raises(ValueError):
        wilson(6, 5)


def row(task: str, config: str, repeat: int, passed: bool, usd: str, tags: list[str], *,
        route: str | None = "") -> EvalRow:
    return EvalRow(task=task, config=config, route=config if route == "" else route, repeat=repeat, passed=passed,
                   exit_code=0, subtype="success", cost_usd=float(usd), cost_usd_exact=usd, num_turns=1,
                   duration_ms=1, wall_ms=1, session_id="s", tags=tags)


def runs_of(config: str, tag: str, passes: int, runs: int, usd: str, **kw: object) -> list[EvalRow]:
    return [row(f"{tag}-task", config, r, r <= passes, usd, [tag], **kw) for r in range(1, runs + 1)]  # type: ignore[arg-type]


def test_the_cheapest_profile_within_the_best_ones_lower_bound_is_chosen() -> None:
    # best: 10/10 (lower bound 72.25%) at $0.10; balanced 8/10 = 80% reaches it at $0.03; cheap 6/10 does not.
    rows = (runs_of("best", "bugfix", 10, 10, "0.10") + runs_of("balanced", "bugfix", 8, 10, "0.03")
            + runs_of("cheap", "bugfix", 6, 10, "0.01"))
    decision = choose("bugfix", evidence(rows))
    assert decision.profile == "balanced"
    assert [e.profile for e in decision.evidence] == ["cheap", "balanced", "best"]  # cheapest first
    assert "reaches 72%, the lower 95% bound of the best (best: 10/10 = 100% (95% CI 72%–100%))" in decision.reason
    balanced = decision.evidence[1]
    assert balanced.mean_cost == Decimal("0.03") and balanced.cost_per_solved == Decimal("0.0375")  # 0.30 / 8


def test_the_best_is_kept_when_no_cheaper_profile_reaches_its_bound_and_ties_go_to_the_cheaper() -> None:
    far = runs_of("best", "t", 10, 10, "0.10") + runs_of("cheap", "t", 5, 10, "0.01")
    assert choose("t", evidence(far)).profile == "best"
    assert "no cheaper profile reaches its lower bound" in choose("t", evidence(far)).reason
    tie = runs_of("best", "t", 3, 3, "0.10") + runs_of("cheap", "t", 3, 3, "0.01")
    assert choose("t", evidence(tie)).profile == "cheap"
    none = runs_of("best", "t", 0, 3, "0.10")
    assert choose("t", evidence(none)).profile is None


def test_a_policy_is_made_of_profiles_on_shared_runs_only() -> None:
    rows = (runs_of("best", "bugfix", 3, 3, "0.10") + runs_of("cheap", "bugfix", 3, 3, "0.01")
            + runs_of("gpt-5.5", "bugfix", 3, 3, "0.001", route=None)  # a pinned model: not a profile
            + runs_of("auto", "bugfix", 0, 3, "0.001"))                 # the policy under test: not a candidate
    decision = decide_policy(rows)
    assert decision.default.profile == "cheap" and [t.profile for t in decision.tags] == ["cheap"]
    assert {e.profile for e in decision.tags[0].evidence} == {"best", "cheap"}
    assert profile_of(row("x", "best", 1, True, "0", [], route=None)) == "best"  # rows from before `route`
    assert decide_policy(rows, profiles=["best"]).default.profile == "best"
    # cheap finished only repeat 1 of another task: compared on the pairs both finished
    unequal = [*rows, row("other", "best", 1, True, "0.10", ["bugfix"])]
    assert decide_policy(unequal).runs == decide_policy(rows).runs


def test_routing_toml_round_trips_with_its_evidence_as_comments(tmp_path: Path) -> None:
    rows = (runs_of("best", "bugfix", 10, 10, "0.10") + runs_of("balanced", "bugfix", 8, 10, "0.03")
            + runs_of("best", "hard", 0, 2, "0.10") + runs_of("balanced", "hard", 0, 2, "0.03"))
    decision = decide_policy(rows)
    text = render_policy(decision, {"bugfix": "fix a failing test"}, when=dt.datetime(2026, 12, 8, tzinfo=dt.UTC))
    path = tmp_path / "routing.toml"
    path.write_text(text)
    policy = read_policy(path)
    assert policy == policy_of(decision, {"bugfix": "fix a failing test"})
    assert policy.tags["bugfix"] == TagRoute(profile="balanced", description="fix a failing test")
    assert policy.tags["hard"].profile is None and policy.choices() == {"bugfix": "fix a failing test"}
    assert "#   balanced   10 runs  8/10 = 80% (95% CI 49%–94%)  $0.0300 per run  $0.0375 per solved task  <- chosen" \
        in text
    assert "2026-12-08 00:00 UTC from 24 runs" in text
    assert tomllib.loads(text)["version"] == 1


@pytest.mark.parametrize(("content", "message"), [
    ("version = 1\n[tags.x]\nprofil = 'best'\n", "tags.x.profil: unknown field"),
    ("version = 2\n", "version 2 is not one this Duet reads"),
    ("nonsense = [", "not valid TOML"),
])
def test_a_bad_policy_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="routing policy .*" + message.replace("(", r"\(")):
        read_policy(path)
    link = tmp_path / "link.toml"
    link.symlink_to(path)
    with pytest.raises(ConfigError, match="not a regular file"):
        read_policy(link)


POLICY = RoutingPolicy(default="balanced", tags={"bugfix": TagRoute(profile="cheap", description="fix a bug"),
                                                 "hard": TagRoute(profile=None)})


def test_resolve_route_follows_the_policy_per_tag(tmp_path: Path) -> None:
    auto = load_config(tmp_path, {"route": "auto"}, {"HOME": str(tmp_path)})
    assert resolve_route(auto, "bugfix", POLICY) == ("cheap", "the routing policy's profile for tag 'bugfix'")
    assert resolve_route(auto, "hard", POLICY)[0] == "balanced"
    assert "none passed its runs" in resolve_route(auto, "hard", POLICY)[1]
    assert resolve_route(auto, "docs", POLICY) == ("balanced", "tag 'docs' is not in the routing policy: the "
                                                               "policy's default 'balanced'")
    assert resolve_route(auto, None, None)[0] == "balanced"
    assert "no routing policy found" in resolve_route(auto, None, None)[1]
    best = load_config(tmp_path, {"route": "best"}, {"HOME": str(tmp_path)})
    assert resolve_route(best, "bugfix", POLICY)[0] == "best"  # only auto follows a policy
    assert choose_tag(["docs", "bugfix"], POLICY) == "bugfix" and choose_tag(["docs"], POLICY) == "docs"
    with pytest.raises(ConfigError, match="profile 'turbo' is not a routing profile here"):
        check_profile("turbo", {"cheap", "balanced", "best"}, None)


def test_the_policy_is_looked_for_in_the_flag_then_the_trusted_project_then_the_user_dir(tmp_path: Path) -> None:
    workspace, home = tmp_path / "w", tmp_path / "home"
    (workspace / ".duet").mkdir(parents=True)
    env = {"HOME": str(home)}
    assert find_policy(workspace, None, env).policy is None
    user = home / ".config" / "duet" / "routing.toml"
    user.parent.mkdir(parents=True)
    user.write_text('version = 1\ndefault = "cheap"\n')
    assert find_policy(workspace, None, env).path == user
    project = workspace / ".duet" / "routing.toml"
    project.write_text('version = 1\ndefault = "best"\n')
    # A project with no trusted config (a clone) does not choose what its runs cost: passed over, and said.
    found = find_policy(workspace, None, env)
    assert found.path == user and "ignored: the project is not trusted" in found.notes[0]
    (workspace / ".duet" / "config.toml").write_text("max_turns = 30\n")
    assert find_policy(workspace, None, env).path == user  # a config not yet trusted
    from agent import trust

    trust.record_trust(workspace, home / ".config" / "duet" / "config.toml")
    assert find_policy(workspace, None, env).policy == RoutingPolicy(default="best")
    flag = tmp_path / "mine.toml"
    flag.write_text('version = 1\ndefault = "balanced"\n')
    assert find_policy(workspace, flag, env).path == flag
    with pytest.raises(ConfigError, match="no such file"):
        find_policy(workspace, tmp_path / "missing.toml", env)


def test_the_classifiers_answer_is_read_strictly() -> None:
    choices = {"bugfix": "", "feature": ""}
    assert parse_choice("bugfix", choices) == "bugfix"
    assert parse_choice(" `Feature`.\n", choices) == "feature"
    assert parse_choice("It is a bugfix.", choices) == "bugfix"
    assert parse_choice("bugfix or feature", choices) is None
    assert parse_choice("none", choices) is None


def test_auto_with_no_task_to_tag_takes_the_policys_default(tmp_path: Path) -> None:
    from agent.routing.auto import route_without_task

    env = {"HOME": str(tmp_path / "home")}
    policy = tmp_path / "home" / ".config" / "duet" / "routing.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('version = 1\ndefault = "cheap"\n')
    assert route_without_task(load_config(tmp_path, {"route": "auto"}, env), tmp_path, env).route == "cheap"
    policy.unlink()
    assert route_without_task(load_config(tmp_path, {"route": "auto"}, env), tmp_path, env).route == "balanced"
    assert route_without_task(load_config(tmp_path, {"route": "best"}, env), tmp_path, env).route == "best"


def test_an_untrusted_project_cannot_turn_auto_on(tmp_path: Path) -> None:
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet" / "config.toml").write_text('route = "auto"\n')
    config = load_config(tmp_path, environ={"HOME": str(tmp_path / "home")})
    assert config.route == "balanced" and "route 'auto'" in config.warnings[0]


def test_the_eval_report_shows_dollars_per_role_and_per_tag_and_the_policy() -> None:
    from agent.eval.report_md import render_markdown

    rows = [row("a", "duet", 1, True, "0.05", ["bugfix"]), row("a", "cheap", 1, False, "0.01", ["bugfix"])]
    rows = [rows[0].model_copy(update={"roles": {"plan": "0.02", "execute": "0.01", "review": "0.02"}}),
            rows[1].model_copy(update={"roles": {"execute": "0.01"}})]
    report = render_markdown(rows)
    assert "| configuration | execute | plan | review |" in report
    assert "| duet | $0.0100 (20%) | $0.0200 (40%) | $0.0200 (40%) |" in report
    assert "| cheap | $0.0100 (100%) | $0.0000 | $0.0000 |" in report
    assert ("| duet | 1 | 100% (1/1; 95% CI 21–100%) | $0.0500 | $0.0500 | execute $0.0100, plan $0.0200, "
            "review $0.0200 |") in report
    assert "| bugfix | **duet** | the best pass rate, 1/1 = 100% (95% CI 21%–100%); no cheaper profile" in report
