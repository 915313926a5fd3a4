"""`routing.toml`: the policy `--route auto` follows, as written by `agent eval` (with its evidence as comments)
and as read back. A bad file is one ConfigError line naming it."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigError
from agent.routing.policy import Evidence, PolicyDecision, TagDecision
from agent.tomlfile import read_toml

ROUTING_FILE = "routing.toml"
POLICY_VERSION = 1


class TagRoute(BaseModel):
    """`[tags.NAME]`: the profile for tasks of this kind, and what the kind is (the classifier's choice text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str | None = Field(default=None, description="None: no profile passed; the default serves the tag.")
    description: str = ""


class RoutingPolicy(BaseModel):
    """A routing policy: the default profile and one per tag."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = POLICY_VERSION
    default: str | None = Field(default=None, description="For a task of no known tag (None: balanced).")
    tags: dict[str, TagRoute] = Field(default_factory=dict)

    def profile_for(self, tag: str | None) -> str | None:
        route = self.tags.get(tag) if tag is not None else None
        return route.profile if route is not None else None

    def choices(self) -> dict[str, str]:
        """The tags with a profile of their own, and their descriptions (what the classifier chooses among)."""
        return {name: route.description for name, route in sorted(self.tags.items()) if route.profile}


def read_policy(path: Path) -> RoutingPolicy:
    """Read a policy file: a regular file (not a link), valid TOML, known fields only."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ConfigError(f"routing policy {path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"routing policy {path}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"routing policy {path}: not a regular file")
    data = read_toml(path, "routing policy")
    try:
        policy = RoutingPolicy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        raise ConfigError(f"routing policy {path}: {where}: {message}") from None
    if policy.version != POLICY_VERSION:
        raise ConfigError(f"routing policy {path}: version {policy.version} is not one this Duet reads "
                          f"({POLICY_VERSION})")
    return policy


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=True)


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def evidence_lines(decision: TagDecision) -> list[str]:
    """The evidence behind one decision, as comment lines: one per profile, cheapest first."""
    width = max((len(e.profile) for e in decision.evidence), default=0)
    lines = [f"# why: {decision.reason}"]
    for e in decision.evidence:
        star = "*" if e.unpriced else ""
        mark = "  <- chosen" if e.profile == decision.profile else ""
        lines.append(f"#   {e.profile:<{width}}  {e.runs:>3} runs  {e.interval.describe()}  "
                     f"{_money(e.mean_cost)}{star} per run  {_money(e.cost_per_solved)}{star} per solved task{mark}")
    return lines


def render_policy(decision: PolicyDecision, descriptions: dict[str, str] | None = None,
                  when: dt.datetime | None = None, source: str = "agent eval") -> str:
    """The policy file, with the rule and every decision's evidence as comments."""
    descriptions = descriptions or {}
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# Routing policy for `--route auto`, written by `{source}` on {stamp} from {decision.runs} runs.",
           "# Per tag: the cheapest profile whose pass rate reaches the lower bound of the 95% Wilson score",
           "# interval of the best profile's. Evidence: runs, passes, the interval, dollars per run and per",
           "# solved task (all runs' dollars over the passing runs; * = some models unpriced, a lower bound).",
           "# Use it with `agent run --route auto --routing FILE`, or as a trusted project's .duet/routing.toml.",
           "", f"version = {POLICY_VERSION}"]
    if decision.default.profile:
        out.append(f"default = {_q(decision.default.profile)}")
    out += ["# all tasks:", *evidence_lines(decision.default)]
    for tag in decision.tags:
        out += ["", f"[tags.{_q(tag.tag)}]"]
        if tag.profile:
            out.append(f"profile = {_q(tag.profile)}")
        out.append(f"description = {_q(descriptions.get(tag.tag, ''))}")
        out += evidence_lines(tag)
    return "\n".join(out) + "\n"


def policy_of(decision: PolicyDecision, descriptions: dict[str, str] | None = None) -> RoutingPolicy:
    """The policy a decision makes, as the object `read_policy` returns for its file."""
    descriptions = descriptions or {}
    return RoutingPolicy(default=decision.default.profile,
                         tags={t.tag: TagRoute(profile=t.profile, description=descriptions.get(t.tag, ""))
                               for t in decision.tags})


__all__ = ["ROUTING_FILE", "Evidence", "RoutingPolicy", "TagRoute", "read_policy", "render_policy"]
