"""Flat launch prices for tests that check spend arithmetic by hand.

DeepSeek's prices now depend on the hour (peak/off-peak): a test that computes dollars by hand pins the launch
prices as flat config rows, so it does not depend on the time of day it runs. The rows go through the real
configuration path (`[[prices]]` in the workspace's .duet/config.toml), trusted: an untrusted project may only
raise prices, and the launch rows are below today's peak output price.
"""

from __future__ import annotations

from pathlib import Path

from fixtures.prices import LAUNCH_PRICES  # re-exported for the tests


def pin_launch_prices(workspace: Path) -> Path:
    """Append the flat launch prices to the workspace's config and trust it; returns the workspace."""
    from tests.helpers import trust_project

    config = workspace / ".duet" / "config.toml"
    config.parent.mkdir(exist_ok=True)
    before = config.read_text() if config.exists() else ""
    config.write_text(before + LAUNCH_PRICES)
    trust_project(workspace)
    return workspace

# A model with no price row anywhere: its calls must never count as free.
UNPRICED_MODEL = """
[models.local-coder]
provider = "deepseek"
api_model = "deepseek-v4-flash"
context_window = 1000000
max_output_tokens = 8000
"""
