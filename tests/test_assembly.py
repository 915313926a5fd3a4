"""One assembly: a frozen SessionSpec becomes the session and its agent, with one immutable tool context."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from agent.approval import refuse_headless
from agent.assembly import SessionSpec, assemble
from tests.conftest import KEYS, make_config


async def test_a_frozen_spec_builds_the_session_with_an_immutable_tool_context(repo: Path, fake_api) -> None:
    (repo / "sub").mkdir()
    server = fake_api([])
    spec = SessionSpec(repo, make_config(repo, server.base_url, model="deepseek-v4-pro"), start_dir=repo / "sub",
                       environ=KEYS)
    with pytest.raises(FrozenInstanceError):
        spec.start_dir = None  # type: ignore[misc]
    built = assemble(spec, None, refuse_headless)
    try:
        context = built.session.tool_context
        assert context.start_dir == repo / "sub"  # given at construction: the system prompt names it too
        assert f"{repo / 'sub'}" in built.agent.prompt.system_for("deepseek-v4-pro").content
        assert context.vision == built.agent.vision.look and context.launcher is built.session.launcher
        with pytest.raises(FrozenInstanceError):
            context.vision = None  # type: ignore[misc]
    finally:
        await built.pool.aclose()
        built.session.close()
