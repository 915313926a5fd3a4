"""Assembling a working agent from configuration: providers per model, tools, prompt. Shared by every front end."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import prompts
from agent.approval import Approver
from agent.config import Config
from agent.errors import DuetError
from agent.events import Notice
from agent.loop import Agent, Limits, ModelClient
from agent.router import Router
from agent.session import Session
from tools.registry import ToolBox, default_tools
from tools.secret_files import SecretFiles

PROJECT_INSTRUCTIONS = ("AGENTS.md",)
MAX_INSTRUCTIONS_CHARS = 20_000


class ProviderPool:
    """One provider per model, made on first use; checks the key before anything is spent."""

    def __init__(self, config: Config, session: Session, environ: Mapping[str, str] | None = None) -> None:
        self._config = config
        self._session = session
        self._environ = environ
        self._providers: dict[str, ModelClient] = {}

    def check(self, model: str) -> None:
        """Raise MissingKeyError now, rather than in the middle of a run."""
        self._config.api_key_of(model, self._environ)

    def usable(self, model: str) -> bool:
        """Is the model known and its key set?"""
        try:
            self.check(model)
        except DuetError:
            return False
        return True

    def __call__(self, model: str) -> ModelClient:
        if model not in self._providers:
            from agent.providers.factory import make_provider

            self._providers[model] = make_provider(
                self._config, model, environ=self._environ,
                on_notice=lambda text: self._session.emit(Notice(level="warning", message=text)))
        return self._providers[model]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            close = getattr(provider, "close", None)
            if close:
                await close()


def check_keys(config: Config, environ: Mapping[str, str] | None = None) -> None:
    """Fail now, with the variable to set, if no model this run may use has its key.

    A pinned model needs its own key; otherwise any model with a key will do (the router falls back).
    """
    if config.model:
        config.api_key_of(config.model, environ)
        return
    for name in config.models:
        try:
            config.api_key_of(name, environ)
            return
        except DuetError:
            continue
    config.api_key_of(Router(config).main().model, environ)  # raises, naming the main model's variable


def system_prompt(workspace: Path, secret_files: SecretFiles | None = None, start_dir: Path | None = None) -> str:
    """The fixed system prompt: Duet's instructions, where the user started (when below the root), then the
    project's AGENTS.md if present (never a secret file, even through a link). The loop redacts the whole of
    it before it is sent."""
    text = prompts.load("system")
    if start_dir is not None:
        text += "\n\n" + prompts.load("start_dir").format(start_dir=start_dir.relative_to(workspace).as_posix())
    secret_files = secret_files or SecretFiles()
    for name in PROJECT_INSTRUCTIONS:
        path = workspace / name
        target, root = path.resolve(), workspace.resolve()
        inside = target.is_relative_to(root)
        if secret_files.match(target.name) or (inside and secret_files.match(target.relative_to(root))):
            continue
        if path.is_file():
            body = path.read_text(encoding="utf-8", errors="replace")[:MAX_INSTRUCTIONS_CHARS]
            text += f"\n\n# Project instructions ({name})\n\n{body}"
    return text


def build_agent(session: Session, approver: Approver, *, max_turns: int | None = None,
                max_cost: float | None = None, environ: Mapping[str, str] | None = None) -> tuple[Agent, ProviderPool]:
    config = session.config
    pool = ProviderPool(config, session, environ)
    check_keys(config, environ)
    env = os.environ if environ is None else environ  # the keys this run uses, wherever they came from
    session.redact.add((env.get(p.api_key_env, "") for p in config.providers.values()), trusted=True)
    router = Router(config, pool.usable)
    cost = max_cost if max_cost is not None else config.max_cost
    limits = Limits(max_turns=max_turns or config.max_turns,
                    max_cost=Decimal(str(cost)) if cost is not None else None)
    context = None
    if config.context.enabled:
        from agent.context.plan import ContextBuilder
        from agent.context.source import ContextSource

        context = ContextSource(ContextBuilder(session.workspace, config, session.redact), session.emit)
    instructions = system_prompt(session.workspace, config.secret_file_list(), session.tool_context.start_dir)
    agent = Agent(session, pool, ToolBox(default_tools()), approver, limits, instructions, router, context)
    return agent, pool
