"""An interactive session, as a front end (the TUI) drives it: send, interrupt, switch model, undo, and read
the live state. Everything the user sees still comes through the event stream; this only adds commands."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from agent import trust
from agent.approval import ApprovalRequest, Approver, Decision
from agent.config import Config, user_config_path
from agent.errors import ConfigError
from agent.events import Event, Notice
from agent.gitsafe import git_argv
from agent.messages import ImagePart
from agent.outcome import Outcome
from agent.router import PROFILES
from agent.runtime import build_agent
from agent.session import EventSink, Session
from agent.spend.explain import spend_lines
from agent.spend.ledger import ModelSpend
from agent.transcript import read_transcript
from agent.undo import UndoReport, apply_plan, forced_diffs, plan_undo


@dataclass(frozen=True)
class SpendView:
    models: dict[str, ModelSpend]
    total_usd: Decimal
    budget_usd: Decimal | None
    context_tokens: int
    context_window: int
    model: str


def command_pattern(command: str) -> str:
    """The part of a shell command that "approve always" remembers: the program and its subcommand."""
    words = command.strip().split()
    if len(words) > 2 and words[1] == "-m":  # python -m pytest
        return " ".join(words[:3])
    keep = words[:2] if len(words) > 1 and not words[1].startswith("-") else words[:1]
    return " ".join(keep)


class Interactive:
    """One session driven by a person. Approvals go through `ask`; "always" answers are remembered."""

    def __init__(self, workspace: Path, config: Config, sink: EventSink, ask: Approver, *,
                 environ: Mapping[str, str] | None = None, resume: Path | None = None) -> None:
        self.workspace = workspace.resolve()
        self.config = config
        self._ask = ask
        self._always: set[str] = set()
        self.past: list[Event] = list(read_transcript(resume)) if resume else []
        self.session = (Session.resume(workspace, config, resume, sink=sink) if resume
                        else Session(workspace, config, sink=sink))
        self.agent, self._pool = build_agent(self.session, self._approve, environ=environ)
        self.pending_images: list[ImagePart] = []
        if not resume:
            self.session.start("tui", "")

    async def _approve(self, request: ApprovalRequest) -> Decision:
        key = f"{request.tool}:{command_pattern(request.command) if request.command else ''}"
        if key in self._always:
            return Decision(True, "approved always for this pattern")
        decision = await self._ask(request)
        if decision.approved and decision.always:
            self._always.add(key)
        return decision

    async def send(self, text: str) -> Outcome:
        """One message from the person; the turn limit applies to each message, not the whole session."""
        images, self.pending_images = tuple(self.pending_images), []
        self.agent.run_turns = 0
        return await self.agent.run(text, images)

    async def attach_image(self, raw: str) -> str:
        """Attach an image to the next message (described once by the vision model); returns its name."""
        from agent.attach import attach_image

        part = await attach_image(self.agent, self.workspace, raw)
        self.pending_images.append(part)
        return Path(raw).name

    def trust_question(self) -> str | None:
        """What an untrusted project config tried to set, as a question for the user (None: nothing to ask)."""
        if not self.config.warnings or trust.is_trusted(self.workspace, user_config_path(os.environ)):
            return None
        return " ".join(self.config.warnings)

    def trust_project(self) -> str:
        """Trust the project config as it is now (bound to its hash); its settings apply from the next session."""
        trust.record_trust(self.workspace, user_config_path(os.environ))
        return (f"trusted {trust.project_config_path(self.workspace)} as it is now; its settings apply from the "
                "next session (a later change to the file asks again)")

    def set_model(self, name: str | None) -> str:
        if name:
            self.config.model_spec(name)
        self.config.model = name or None
        return name or f"routing ({self.config.route})"

    def set_route(self, profile: str) -> str:
        if profile not in PROFILES:
            raise ConfigError(f"unknown route {profile!r}; choose {', '.join(PROFILES)}")
        self.config.route = profile  # type: ignore[assignment]
        return profile

    def spend(self) -> SpendView:
        model = self.agent.router.current or self.config.model or PROFILES[self.config.route].main
        return SpendView(models=self.session.ledger.by_model(), total_usd=self.session.ledger.total_usd,
                         budget_usd=self.agent.limits.max_cost, context_tokens=self.agent.prompt_tokens(model),
                         context_window=self.config.models[model].context_window, model=model)

    def workspace_paths(self, limit: int = 20_000) -> list[str]:
        """Files of the workspace (ignore rules honoured), relative and POSIX-style, for `@path` completion."""
        from itertools import islice

        from tools.walk import walk_files

        return [p.relative_to(self.workspace).as_posix() for p in islice(walk_files(self.workspace), limit)]

    def spend_lines(self, explain: bool = False) -> list[str]:
        """The session's spend per model, and with `explain` every call with the price row that priced it."""
        return spend_lines(self.session.ledger, explain)

    def diff(self) -> str:
        """What the session changed: against its checkpoint in git, or the file list otherwise."""
        checkpoint = self.session.checkpoint
        if checkpoint.uses_git:
            result = subprocess.run(git_argv("diff", "--stat", "--patch", checkpoint.ref, "--", ".", ":!.duet"),
                                    cwd=self.workspace, capture_output=True, text=True)
            if result.returncode == 0:
                return result.stdout or "no changes"
        changed = self.session.files_changed
        return "\n".join(f"{action} {path}" for path, action in changed.items()) or "no changes"

    def mcp_status(self) -> str:
        """The session's MCP servers, their status and tools (`/mcp`)."""
        from agent.mcp.report import status_lines
        from tools.registry import default_tools

        return "\n".join(status_lines(self.session.mcp, {t.name for t in default_tools()}))

    def undo(self, force: bool = False) -> UndoReport:
        """The same rules as `agent undo`: only files still as this session left them, unless forced."""
        plan = plan_undo(self.workspace, self.session.id)
        if force and plan.changed_since:  # what --force overwrites, shown before it does
            self.session.emit(Notice(level="warning", message="".join(forced_diffs(plan, self.workspace))))
        report = apply_plan(plan, self.workspace, force=force)
        self.session.emit(Notice(message="\n".join(report.lines()), level="info" if report.complete else "warning"))
        return report

    async def compact(self) -> bool:
        return await self.agent.compact()

    async def aclose(self) -> None:
        await self._pool.aclose()
        self.session.close()
