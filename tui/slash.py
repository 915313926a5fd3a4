"""What each slash command does in the TUI: one table of handlers. A handler works on the session and posts
messages up to the app (lines to show, screens to change); it never holds the app, so this module does not
import it. Blocking work (git, file walks) runs in threads, off the UI loop; errors appear in the conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.message import Message

from agent.errors import DuetError
from agent.instructions.starter import propose_or_write
from agent.interactive import Interactive
from tui.commands import Command, help_text

# Run at once even while a turn runs: they only read, or change what the next step uses.
IMMEDIATE = frozenset({"/help", "/cost", "/context", "/diff", "/mcp", "/approval", "/quit"})


class SlashLine(Message):
    """A line for the conversation."""

    def __init__(self, text: str, style: str = "") -> None:
        super().__init__()
        self.text, self.style = text, style


class SlashAction(Message):
    """Something only the app can do: `quit`, `approval` (argument: the mode), `image` (the path), `compact`,
    `clear` (the conversation view), `resume` (a session id, or empty to pick one); then `done`."""

    def __init__(self, action: str, argument: str = "") -> None:
        super().__init__()
        self.action, self.argument = action, argument


Post = Callable[[Message], object]
Handler = Callable[[Interactive, str, Post], Awaitable[None]]


async def _help(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine(help_text()))


async def _model(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine(f"model: {duet.set_model(None if arg in ('', 'auto') else arg)}", "route"))


async def _route(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine(f"route: {duet.set_route(arg)}", "route"))


async def _cost(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine("\n".join(duet.spend_lines(explain=arg == "explain"))))


async def _context(duet: Interactive, arg: str, post: Post) -> None:
    spend = duet.spend()
    post(SlashLine(f"context in use: ~{spend.context_tokens:,} of {spend.context_window:,} tokens ({spend.model})"))


async def _diff(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine(await asyncio.to_thread(duet.diff)))  # git runs off the UI loop


async def _mcp(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine(duet.mcp_status()))


async def _undo(duet: Interactive, arg: str, post: Post) -> None:
    await asyncio.to_thread(duet.undo, arg == "--force")  # the report arrives as a notice


async def _init(duet: Interactive, arg: str, post: Post) -> None:
    post(SlashLine(await asyncio.to_thread(propose_or_write, duet.workspace, arg.strip())))


async def _clear(duet: Interactive, arg: str, post: Post) -> None:
    duet.new_conversation()
    post(SlashAction("clear"))
    post(SlashLine("new conversation: the model starts afresh (the earlier one stays in this session's transcript)"))


def _app_does(action: str) -> Handler:
    async def handler(duet: Interactive, arg: str, post: Post) -> None:
        post(SlashAction(action, arg))
    return handler


SLASH: dict[str, Handler] = {
    "/help": _help, "/quit": _app_does("quit"), "/model": _model, "/route": _route,
    "/approval": _app_does("approval"), "/cost": _cost, "/context": _context, "/diff": _diff, "/mcp": _mcp,
    "/undo": _undo, "/image": _app_does("image"), "/compact": _app_does("compact"), "/init": _init,
    "/clear": _clear, "/resume": _app_does("resume"),
}


async def run_slash(command: Command, duet: Interactive, post: Post) -> None:
    """Run `command`'s handler; an error is a line in the conversation. Ends with a `done` action (the app
    refreshes what the command may have changed)."""
    handler = SLASH.get(command.name)
    try:
        if handler is None:
            post(SlashLine(f"unknown command {command.name}; /help lists them", "warning"))
        else:
            await handler(duet, command.argument, post)
    except DuetError as exc:
        post(SlashLine(f"{command.name}: {exc}", "error"))
    post(SlashAction("done"))
