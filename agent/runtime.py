"""Assembling a working agent from configuration: providers per model, tools, prompt. Shared by every front end."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

from agent.approval import Approver
from agent.config import Approval, Config
from agent.errors import DuetError
from agent.events import Notice
from agent.instructions.agents_md import agents_section, discover
from agent.instructions.facts import SandboxFacts, gather
from agent.instructions.system import SystemPrompt
from agent.instructions.system import system_prompt as render_system_prompt
from agent.loop import Agent
from agent.providers.base import ModelClient
from agent.router import Router
from agent.session import Session
from agent.stop import Limits
from tools.registry import ToolBox, default_tools, offered_names
from tools.secret_files import SecretFiles


class ProviderPool:
    """One provider per model, made on first use; checks the key before anything is spent."""

    def __init__(self, config: Config, session: Session, environ: Mapping[str, str] | None = None,
                 clients: Callable[[str], ModelClient] | None = None) -> None:
        self._config = config
        self._session = session
        self._environ = environ
        self._clients = clients  # makes a model's client instead of a real provider (tests' scripted models)
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
        if model not in self._providers and self._clients is not None:
            self._providers[model] = self._clients(model)
        if model not in self._providers:
            from agent.providers.factory import make_provider

            self._providers[model] = make_provider(
                self._config, model, environ=self._environ, cache_key=f"duet-{self._session.id}",
                on_notice=lambda text: self._session.emit(Notice(level="warning", message=text)))
        return self._providers[model]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.close()


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


def system_prompt(workspace: Path, secret_files: SecretFiles | None = None, *, approval: Approval = "ask",
                  cwd: Path | None = None, sandbox: SandboxFacts | None = None) -> SystemPrompt:
    """The fixed system prompt of a session starting now: Duet's instructions and every AGENTS.md from the
    workspace root down to `cwd` (never a secret file), and the session's facts (OS, date, git state,
    approval mode, sandbox). The loop redacts all of it before it is sent."""
    facts = gather(workspace, approval, cwd=cwd, sandbox=sandbox)
    here = cwd or Path.cwd()
    return render_system_prompt(facts, agents_section(discover(workspace, here, secret_files)))


def session_prompt(session: Session) -> SystemPrompt:
    """The system prompt for the session as it is now: its approval mode and sandbox. Rendered once per setting:
    the system prompt is the byte-stable prefix providers cache. cwd: where shell commands start (the user's
    directory inside the workspace, else the root)."""
    return system_prompt(session.workspace, session.config.secret_file_list(), approval=session.config.approval,
                         cwd=session.tool_context.start_dir or session.workspace,
                         sandbox=SandboxFacts.from_info(session.launcher.info()))


def build_agent(session: Session, approver: Approver, *, max_turns: int | None = None,
                max_cost: float | None = None, environ: Mapping[str, str] | None = None,
                turns_per_prompt: bool = False,
                clients: Callable[[str], ModelClient] | None = None) -> tuple[Agent, ProviderPool]:
    """The session's agent and its provider pool. `clients` makes each model's client in place of the real
    providers (the in-process scripted model of tests/scripted.py); keys are checked either way."""
    config = session.config
    pool = ProviderPool(config, session, environ, clients)
    check_keys(config, environ)
    env = os.environ if environ is None else environ  # the keys this run uses, wherever they came from
    session.redact.add((env.get(p.api_key_env, "") for p in config.providers.values()), trusted=True)
    router = Router(config, pool.usable)
    cost = max_cost if max_cost is not None else config.max_cost
    limits = Limits(max_turns=max_turns or config.max_turns,
                    max_cost=Decimal(str(cost)) if cost is not None else None, turns_per_prompt=turns_per_prompt)
    context = None
    if config.context.enabled:
        from agent.context.plan import ContextBuilder
        from agent.context.source import ContextSource

        context = ContextSource(ContextBuilder(session.workspace, config, session.redact), session.emit)
    instructions = session_prompt(session)
    builtin = default_tools()
    from agent.mcp.startup import start_servers  # light: the SDK loads on the MCP thread, only when needed

    later = start_servers(session, offered_names(session.tool_context)) if config.mcp else None
    toolbox = ToolBox(builtin, later=later, ctx=session.tool_context)  # offers those only
    agent = Agent(session, pool, toolbox, approver, limits, instructions, router, context)
    return agent, pool
