"""Duet's TUI: a thin view over the agent's event stream. It imports no provider and opens no connection."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Collapsible, Footer, Label

from agent.approval import ApprovalRequest, Decision
from agent.errors import DuetError
from agent.events import Event, StepRouted, TurnStarted, UsageEstimate, UsageEvent
from agent.instructions.starter import propose_or_write
from agent.interactive import Interactive
from agent.runtime import check_keys
from agent.transcript import find_session
from tui.approval import ApprovalScreen
from tui.commands import Command, help_text, parse
from tui.conversation import ConversationView
from tui.prompt import PromptInput
from tui.spend import SpendPanel
from tui.trust import TrustScreen

QUIT_WINDOW_S = 2.0


class AgentEvent(Message):
    """An event from the agent, delivered to the app's message queue."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class DuetApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Duet"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "interrupt", "interrupt / quit", priority=True),
                Binding("ctrl+t", "toggle_theme", "light/dark"),
                Binding("ctrl+o", "toggle_details", "expand/collapse details"),
                Binding("ctrl+q", "quit", "quit", show=False)]

    def __init__(self, make_session: object) -> None:
        """`make_session(sink, ask, resume)` builds the Interactive session (an agent-side factory)."""
        super().__init__()
        self._make = make_session
        self.duet: Interactive | None = None
        self._last_interrupt = 0.0
        self._estimate: tuple[str, Decimal] | None = None
        self._paths: list[str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            yield ConversationView(id="conversation")
            yield Label("", id="hint")
            yield PromptInput(self._workspace_paths, id="prompt")
            yield Footer()
        yield SpendPanel(id="spend")

    async def on_mount(self) -> None:
        self.duet = self._make(self._on_event, self._ask, None)  # type: ignore[operator]
        if self.duet.past:
            await self._replay(self.duet.past)
        else:
            route = self.duet.config.model or f"routing: {self.duet.config.route}"
            await self.query_one(ConversationView).add_line(
                f"Duet in {self.duet.workspace.name} ({route}, approval: {self.duet.config.approval}). "
                "Type a task; /help lists commands.")
        self._refresh_spend()
        self.query_one(PromptInput).focus()
        self.sub_title = str(self.duet.workspace)
        question = self.duet.trust_question()
        if question:  # asked once: trusting records the file's hash, so the question returns only if it changes
            self.push_screen(TrustScreen(question), callback=self._trust_answered)

    async def _trust_answered(self, trusted: bool | None) -> None:
        if trusted and self.duet is not None:
            await self.query_one(ConversationView).add_line(self.duet.trust_project())

    async def _replay(self, events: list[Event]) -> None:
        view = self.query_one(ConversationView)
        for event in events:
            await view.apply(event)

    # events, up from the agent
    def _on_event(self, event: Event) -> None:
        self.post_message(AgentEvent(event))

    async def on_agent_event(self, message: AgentEvent) -> None:
        event = message.event
        await self.query_one(ConversationView).apply(event)
        if isinstance(event, UsageEstimate):
            self._estimate = (event.model, Decimal(event.call_usd))
            self._refresh_spend()
        elif isinstance(event, UsageEvent):
            self._estimate = None
            self._refresh_spend()
        elif isinstance(event, TurnStarted | StepRouted):
            self.query_one(SpendPanel).route(event.model, event.reason)

    def _refresh_spend(self) -> None:
        if self.duet is not None:
            self.query_one(SpendPanel).show(self.duet.spend(), self._estimate)

    # input, down to the agent
    async def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        command = parse(message.text)
        if command is not None:
            await self._command(command)
        elif self._busy():
            self._hint("the agent is working; Ctrl+C interrupts it")
        else:
            self._send(message.text)

    def on_prompt_input_hint(self, message: PromptInput.Hint) -> None:
        self._hint(message.text)

    def _hint(self, text: str) -> None:
        self.query_one("#hint", Label).update(text)

    def _busy(self) -> bool:
        return any(w.group == "agent" and w.is_running for w in self.workers)

    @work(group="agent", exclusive=True)
    async def _send(self, text: str) -> None:
        assert self.duet is not None
        self._hint("working… (Ctrl+C interrupts)")
        try:
            outcome = await self.duet.send(text)
            self._hint(f"{outcome.value}")
        except DuetError as exc:
            self._hint(f"error: {exc}")
        self._estimate = None
        self._refresh_spend()

    async def _ask(self, request: ApprovalRequest) -> Decision:
        return await self.push_screen_wait(ApprovalScreen(request))

    async def _command(self, command: Command) -> None:
        assert self.duet is not None
        view = self.query_one(ConversationView)
        name, arg = command.name, command.argument
        try:
            if name == "/help":
                await view.add_line(help_text())
            elif name == "/quit":
                await self.action_quit()
            elif name == "/model":
                await view.add_line(f"model: {self.duet.set_model(None if arg in ('', 'auto') else arg)}", "route")
            elif name == "/route":
                await view.add_line(f"route: {self.duet.set_route(arg)}", "route")
            elif name == "/cost":
                await view.add_line("\n".join(self.duet.spend_lines(explain=arg == "explain")))
            elif name == "/context":
                spend = self.duet.spend()
                await view.add_line(f"context in use: ~{spend.context_tokens:,} of {spend.context_window:,} tokens "
                                    f"({spend.model})")
            elif name == "/diff":
                await view.add_line(self.duet.diff())
            elif name == "/mcp":
                await view.add_line(self.duet.mcp_status())
            elif name == "/undo":
                self.duet.undo(force=arg == "--force")  # the report arrives as a notice
            elif name == "/image":
                self._attach_image(arg)
            elif name == "/compact":
                self._compact()
            elif name == "/init":
                # Walking the repository runs off the UI loop.
                await view.add_line(await asyncio.to_thread(propose_or_write, self.duet.workspace, arg.strip()))
            elif name == "/clear":
                await view.remove_children()
            elif name == "/resume":
                await self._resume(arg or None)
            else:
                await view.add_line(f"unknown command {name}; /help lists them", "warning")
        except DuetError as exc:
            await view.add_line(str(exc), "error")
        self._refresh_spend()

    @work(group="agent", exclusive=True)
    async def _attach_image(self, path: str) -> None:
        assert self.duet is not None
        try:
            name = await self.duet.attach_image(path)
            self._hint(f"{name} will go with your next message")
        except DuetError as exc:
            self._hint(f"error: {exc}")

    @work(group="agent", exclusive=True)
    async def _compact(self) -> None:
        assert self.duet is not None
        if not await self.duet.compact():
            self._hint("nothing to compact yet")

    async def _resume(self, session_id: str | None) -> None:
        assert self.duet is not None
        path = find_session(self.duet.workspace, session_id)
        if path is None:
            raise DuetError("no such session")
        await self.duet.aclose()
        self.duet = self._make(self._on_event, self._ask, path)  # type: ignore[operator]
        view = self.query_one(ConversationView)
        await view.remove_children()
        await self._replay(self.duet.past)

    def _workspace_paths(self) -> list[str]:
        if self._paths is None and self.duet is not None:
            self._paths = self.duet.workspace_paths()
        return self._paths or []

    # keys
    def action_interrupt(self) -> None:
        now = time.monotonic()
        if self._busy() and now - self._last_interrupt > QUIT_WINDOW_S:
            self.workers.cancel_group(self, "agent")
            self._hint("interrupted; the session is kept (Ctrl+C again to quit)")
            self._last_interrupt = now
            return
        if now - self._last_interrupt <= QUIT_WINDOW_S:
            self.exit(0)
            return
        self._last_interrupt = now
        self._hint("press Ctrl+C again to quit")

    def action_toggle_details(self) -> None:
        """Expand every tool call and reasoning block, or collapse them all (no mouse needed)."""
        blocks = list(self.query_one(ConversationView).query(Collapsible))
        expand = any(block.collapsed for block in blocks)
        for block in blocks:
            block.collapsed = not expand

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    async def action_quit(self) -> None:
        self.workers.cancel_group(self, "agent")
        self.exit(0)

    async def on_unmount(self) -> None:
        if self.duet is not None:
            await self.duet.aclose()


def run_tui(workspace: Path, resume: Path | None = None) -> int:
    """Start the TUI on `workspace` (optionally resuming a stored session)."""
    from agent.config import load_config

    config = load_config(workspace)
    first = [resume]

    def make(sink, ask, path):  # type: ignore[no-untyped-def]
        chosen = path if path is not None else first.pop() if first else None
        return Interactive(workspace, config, sink, ask, resume=chosen)

    # Fail before the screen opens (missing key, bad config): one clear line, like every other command.
    check_keys(config)
    return DuetApp(make).run() or 0
