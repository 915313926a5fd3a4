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
from agent.approval_rules import AlwaysRules
from agent.config import Approval, Config, user_config_path
from agent.errors import ConfigError
from agent.events import Event, Notice, SessionStarted
from agent.gitsafe import git_argv, git_env
from agent.messages import ImagePart
from agent.outcome import Outcome
from agent.router import PROFILES
from agent.runtime import build_agent
from agent.sandbox.launcher import SandboxLauncher
from agent.sandbox.policy import SandboxPolicy
from agent.session import EventSink, Session
from agent.spend.explain import spend_lines
from agent.spend.ledger import ModelSpend
from agent.transcript import read_transcript
from agent.undo import UndoReport, apply_plan, forced_diffs, plan_undo

APPROVAL_CYCLE: tuple[Approval, ...] = ("ask", "auto-edit", "full-auto", "read-only")


@dataclass(frozen=True)
class Launch:
    """How the TUI was started: a first prompt and images for it (`agent "fix the tests" --image x.png`),
    and the user's directory inside the workspace, where shell commands start (None: the root)."""

    prompt: str | None = None
    images: tuple[str, ...] = ()
    start_dir: Path | None = None


@dataclass(frozen=True)
class SpendView:
    models: dict[str, ModelSpend]
    total_usd: Decimal
    budget_usd: Decimal | None
    context_tokens: int
    context_window: int
    model: str


class Interactive:
    """One session driven by a person. Approvals go through `ask`; "always" answers are remembered."""

    def __init__(self, workspace: Path, config: Config, sink: EventSink, ask: Approver, *,
                 environ: Mapping[str, str] | None = None, resume: Path | None = None,
                 start_dir: Path | None = None) -> None:
        self.workspace = workspace.resolve()
        self.config = config
        self._ask = ask
        self._always = AlwaysRules()
        self.past: list[Event] = list(read_transcript(resume)) if resume else []
        self.session = (Session.resume(workspace, config, resume, sink=sink) if resume
                        else Session(workspace, config, sink=sink))
        # Shell commands start where the user is, as in headless runs (set before the system prompt is built).
        self.session.tool_context.start_dir = start_dir
        self.agent, self._pool = build_agent(self.session, self._approve, environ=environ)
        self.pending_images: list[ImagePart] = []
        if not resume:
            self.session.start("tui", "")

    async def _approve(self, request: ApprovalRequest) -> Decision:
        rule = self._always.allowing(request)  # an exact command, or a prefix of one simple command: never more
        if rule is not None:
            return Decision(True, f"approved by the rule: {rule.label}")
        decision = await self._ask(request)
        if decision.approved and decision.always is not None and decision.always.matches(request):
            self._always.add(decision.always)
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

    def set_approval(self, mode: str, *, busy: bool = False) -> Approval:
        """Change which tool calls need asking. Into or out of read-only, the sandbox changes too (the workspace
        becomes writable or not for commands), so that waits until no command runs."""
        if mode not in APPROVAL_CYCLE:
            raise ConfigError(f"unknown approval mode {mode!r}; choose {', '.join(APPROVAL_CYCLE)}")
        chosen: Approval = mode  # type: ignore[assignment]
        writable = chosen != "read-only"
        if writable != (self.config.approval != "read-only"):
            if busy:
                raise ConfigError("switching into or out of read-only waits until the turn ends")
            self.config.approval = chosen
            old = self.session.launcher
            old.finish_all()
            old.close()
            self.session.launcher = SandboxLauncher(SandboxPolicy.from_config(self.config, self.workspace,
                                                                               os.environ))
            self.session.tool_context.launcher = self.session.launcher
        self.config.approval = chosen
        return chosen

    def next_approval(self) -> Approval:
        """The mode after the current one in the Shift+Tab cycle."""
        modes = APPROVAL_CYCLE
        return modes[(modes.index(self.config.approval) + 1) % len(modes)]

    def new_conversation(self) -> None:
        """`/clear`: the model starts from nothing; the old conversation stays in the transcript (a resume
        continues from this point) and the session's spend goes on."""
        self.session.close_pending_calls()
        self.session.messages = []
        self.pending_images = []
        self.session.emit(SessionStarted(session_id=self.session.id, workspace=str(self.workspace),
                                         command="clear", task=""))

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
        """Files of the workspace (ignore rules honoured), relative and POSIX-style, for `@path` completion.
        The walk stops at `limit` files; it blocks, so a front end calls it off its UI loop."""
        from itertools import islice

        from tools.walk import walk_files

        return [p.relative_to(self.workspace).as_posix() for p in islice(walk_files(self.workspace), limit)]

    def spend_lines(self, explain: bool = False) -> list[str]:
        """The session's spend per model, and with `explain` every call with the price row that priced it."""
        return spend_lines(self.session.ledger, explain, self.session.config.price_table())

    def diff(self) -> str:
        """What the session changed: against its checkpoint in git, or the file list otherwise."""
        checkpoint = self.session.checkpoint
        if checkpoint.uses_git:
            try:
                result = subprocess.run(git_argv(self.workspace, "diff", "--no-ext-diff", "--no-textconv", "--stat",
                                                 "--patch", checkpoint.ref, "--", ".", ":!.duet"),
                                        cwd=self.workspace, capture_output=True, text=True, env=git_env())
            except OSError as exc:
                return str(exc)
            if result.returncode == 0:
                return result.stdout or "no changes"
        changed = self.session.files_changed
        return "\n".join(f"{action} {path}" for path, action in changed.items()) or "no changes"

    def mcp_status(self) -> str:
        """The session's MCP servers, their status and tools (`/mcp`)."""
        from agent.mcp.report import status_lines
        from tools.registry import offered_names

        return "\n".join(status_lines(self.session.mcp, offered_names(self.session.tool_context)))

    def undo(self, force: bool = False) -> UndoReport:
        """The same rules as `agent undo`: only files still as this session left them, unless forced."""
        plan = plan_undo(self.workspace, self.session.id)
        if force and plan.changed_since:  # what --force overwrites, shown before it does
            self.session.emit(Notice(level="warning", message="".join(forced_diffs(plan, self.workspace))))
        report = apply_plan(plan, self.workspace, force=force)
        self.session.emit(Notice(message="\n".join(report.lines()), level="info" if report.complete else "warning"))
        return report

    def farewell(self) -> list[str]:
        """What the terminal shows after the TUI closes: the session, how to come back to it, its spend."""
        ledger = self.session.ledger
        per_model = ", ".join(f"{name} ${spend.cost_usd:.4f}" for name, spend in sorted(ledger.by_model().items()))
        return [f"session {self.session.id}: spent ${ledger.total_usd:.4f}" + (f" ({per_model})" if per_model else ""),
                f"continue it with: agent resume {self.session.id}"]

    async def compact(self) -> bool:
        return await self.agent.compact()

    async def aclose(self) -> None:
        await self._pool.aclose()
        self.session.close()
