"""One assembly for every front end: a frozen `SessionSpec` (decided before anything starts) becomes a session
and its agent. Headless runs (`run`, `fix-tests`, `resume`, the demo, and the eval's runs, which are headless
runs) and the TUI all build theirs here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.approval import Approver
from agent.config import Config
from agent.loop import Agent
from agent.runtime import ProviderPool, build_agent
from agent.session import EventSink, Session


@dataclass(frozen=True)
class SessionSpec:
    """What a session is built from. `resume`: the transcript to continue (None: a new session); `start_dir`:
    where shell commands start (None: the workspace root); limits None: the config's."""

    workspace: Path
    config: Config
    start_dir: Path | None = None
    resume: Path | None = None
    max_turns: int | None = None
    max_cost: float | None = None
    environ: Mapping[str, str] | None = None
    turns_per_prompt: bool = False
    """The turn limit applies to each prompt (the TUI's messages), not to the whole command (headless)."""


@dataclass(frozen=True)
class Assembled:
    session: Session
    agent: Agent
    pool: ProviderPool


def open_session(spec: SessionSpec, sink: EventSink | None) -> Session:
    """The session alone (a front end may show who it is before the agent is built)."""
    if spec.resume is not None:
        return Session.resume(spec.workspace, spec.config, spec.resume, sink=sink, start_dir=spec.start_dir)
    return Session(spec.workspace, spec.config, sink=sink, start_dir=spec.start_dir)


def equip(session: Session, spec: SessionSpec, approver: Approver) -> Assembled:
    """The agent for an open session; the session is closed if that fails."""
    try:
        agent, pool = build_agent(session, approver, max_turns=spec.max_turns, max_cost=spec.max_cost,
                                  environ=spec.environ, turns_per_prompt=spec.turns_per_prompt)
    except BaseException:
        session.close()
        raise
    return Assembled(session, agent, pool)


def assemble(spec: SessionSpec, sink: EventSink | None, approver: Approver) -> Assembled:
    return equip(open_session(spec, sink), spec, approver)
