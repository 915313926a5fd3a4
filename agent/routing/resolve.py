"""`--route auto`: where the policy comes from and which profile it gives a task (pure once the policy is read).

Order: `--routing FILE`; the project's `.duet/routing.toml`, only when the user trusts the project's config (a
cloned repository could otherwise route every step to the dearest model); the user's own `routing.toml` beside
their config. None of them: `auto` routes as `balanced`, and says so once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent import trust
from agent.config import Config
from agent.errors import ConfigError
from agent.routing.policy import AUTO
from agent.routing.policy_file import ROUTING_FILE, RoutingPolicy, read_policy
from agent.userdirs import config_dir

NO_POLICY_PROFILE = "balanced"


@dataclass(frozen=True)
class FoundPolicy:
    """The policy `auto` follows (None: there is none), where it was read, and what was passed over and why."""

    policy: RoutingPolicy | None
    path: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def project_policy_path(workspace: Path) -> Path:
    return workspace / ".duet" / ROUTING_FILE


def user_policy_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / ROUTING_FILE


def find_policy(workspace: Path, routing: Path | None, environ: Mapping[str, str] | None = None) -> FoundPolicy:
    """The first policy of: `routing` (an error if it cannot be read), the trusted project's, the user's."""
    if routing is not None:
        return FoundPolicy(read_policy(routing), routing)
    notes: list[str] = []
    project = project_policy_path(workspace)
    if project.exists() or project.is_symlink():
        user_config = config_dir(environ) / "config.toml"
        if trust.project_config_path(workspace).is_file() and trust.is_trusted(workspace, user_config):
            return FoundPolicy(read_policy(project), project)
        notes.append(f"{project} ignored: the project is not trusted (trust its .duet/config.toml with "
                     "`agent trust`, or pass --routing FILE)")
    user = user_policy_path(environ)
    if user.exists() or user.is_symlink():
        return FoundPolicy(read_policy(user), user, tuple(notes))
    return FoundPolicy(None, None, tuple(notes))


def choose_tag(tags: Sequence[str], policy: RoutingPolicy | None) -> str | None:
    """Of a task's tags (as given), the first the policy routes; else the first given."""
    if policy is not None:
        for tag in tags:
            if policy.profile_for(tag):
                return tag
    return tags[0] if tags else None


def resolve_route(config: Config, tag: str | None, policy: RoutingPolicy | None) -> tuple[str, str]:
    """The profile a task of `tag` runs under, and why. A route other than `auto` is kept as configured."""
    if config.route != AUTO:
        return config.route, f"the configured profile {config.route!r}"
    if policy is None:
        return NO_POLICY_PROFILE, f"no routing policy found: --route auto routes as {NO_POLICY_PROFILE!r}"
    profile = policy.profile_for(tag)
    if profile:
        return profile, f"the routing policy's profile for tag {tag!r}"
    fallback = policy.default or NO_POLICY_PROFILE
    if tag is None:
        why = "no tag for this task"
    elif tag in policy.tags:
        why = f"the policy names no profile for tag {tag!r} (none passed its runs)"
    else:
        why = f"tag {tag!r} is not in the routing policy"
    return fallback, f"{why}: the policy's default {fallback!r}"


def check_profile(profile: str, known: Collection[str], where: Path | None) -> None:
    """A policy names profiles this configuration may not have (a policy from another team's config)."""
    if profile not in known:
        source = f"routing policy {where}" if where else "routing policy"
        raise ConfigError(f"{source}: profile {profile!r} is not a routing profile here (known: "
                          f"{', '.join(sorted(known))})")
