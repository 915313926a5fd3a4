"""What each slash command does in the TUI. Blocking work (git, file walks) runs in threads, off the UI loop;
errors appear in the conversation, where they stay."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from agent.errors import DuetError
from agent.instructions.starter import propose_or_write
from agent.transcript import find_session
from tui.commands import Command, help_text

if TYPE_CHECKING:
    from tui.app import DuetApp

# Run at once even while a turn runs: they only read, or change what the next step uses.
IMMEDIATE = frozenset({"/help", "/cost", "/context", "/diff", "/mcp", "/approval", "/quit"})


class SlashCommands:
    """The app's slash commands; `run` is called when the app is idle, or during a turn for IMMEDIATE ones."""

    def __init__(self, app: DuetApp) -> None:
        self.app = app

    async def run(self, command: Command) -> None:
        app, duet, view = self.app, self.app.duet, self.app.view
        assert duet is not None
        name, arg = command.name, command.argument
        try:
            if name == "/help":
                await view.add_line(help_text())
            elif name == "/quit":
                await app.action_quit()
            elif name == "/model":
                await view.add_line(f"model: {duet.set_model(None if arg in ('', 'auto') else arg)}", "route")
            elif name == "/route":
                await view.add_line(f"route: {duet.set_route(arg)}", "route")
            elif name == "/approval":
                question = app.question_open()
                if arg and question is not None:
                    question.refuse_mode_change()
                elif arg:
                    duet.set_approval(arg, busy=app.busy())
                    app.show_approval()
                await view.add_line(f"approval: {duet.config.approval} (Shift+Tab cycles ask, auto-edit, "
                                    "full-auto, read-only)", "route")
            elif name == "/cost":
                await view.add_line("\n".join(duet.spend_lines(explain=arg == "explain")))
            elif name == "/context":
                spend = duet.spend()
                await view.add_line(f"context in use: ~{spend.context_tokens:,} of {spend.context_window:,} tokens "
                                    f"({spend.model})")
            elif name == "/diff":
                await view.add_line(await asyncio.to_thread(duet.diff))  # git runs off the UI loop
            elif name == "/mcp":
                await view.add_line(duet.mcp_status())
            elif name == "/undo":
                await asyncio.to_thread(duet.undo, arg == "--force")  # the report arrives as a notice
            elif name == "/image":
                app.run_worker(self._attach_image(arg), group="agent")
            elif name == "/compact":
                app.run_worker(self._compact(), group="agent")
            elif name == "/init":
                await view.add_line(await asyncio.to_thread(propose_or_write, duet.workspace, arg.strip()))
            elif name == "/clear":
                duet.new_conversation()
                await view.remove_children()
                await view.add_line("new conversation: the model starts afresh (the earlier one stays in this "
                                    "session's transcript)")
            elif name == "/resume":
                await self._resume(arg or None)
            else:
                await view.add_line(f"unknown command {name}; /help lists them", "warning")
        except DuetError as exc:
            await view.add_line(f"{name}: {exc}", "error")
        app.refresh_spend()

    async def _attach_image(self, path: str) -> None:
        assert self.app.duet is not None
        try:
            name = await self.app.duet.attach_image(path)
            await self.app.view.add_line(f"{name} will go with your next message")
        except DuetError as exc:
            await self.app.view.add_line(f"/image: {exc}", "error")

    async def _compact(self) -> None:
        assert self.app.duet is not None
        if not await self.app.duet.compact():
            await self.app.view.add_line("nothing to compact yet")

    async def _resume(self, session_id: str | None) -> None:
        app = self.app
        assert app.duet is not None
        path = find_session(app.duet.workspace, session_id)
        if path is None:
            raise DuetError("no such session")
        await app.duet.aclose()
        app.duet = app._make(app._on_event, app._ask, path)
        await app.view.remove_children()
        await app._replay(app.duet.past)
        app.show_approval()
