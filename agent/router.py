"""Which model serves the next step, and why. Plain functions over the configuration and the session."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config import Config, RouteProfile

MAIN_MODEL: dict[RouteProfile, str] = {
    "cheap": "deepseek-v4-flash",
    "balanced": "deepseek-v4-pro",
    "best": "gpt-5.5",
}


@dataclass(frozen=True)
class Route:
    model: str
    reason: str


def main_route(config: Config) -> Route:
    """The model that drives the main conversation."""
    if config.model:
        return Route(config.model, "pinned with --model / config `model`")
    model = MAIN_MODEL[config.route]
    return Route(model, f"drives the conversation in the {config.route!r} profile")
