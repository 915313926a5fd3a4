"""Slash commands: names, help, and parsing of what the user typed."""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS: dict[str, str] = {
    "/help": "this list",
    "/model": "/model NAME pins a model (deepseek-v4-flash, deepseek-v4-pro, gpt-5.5, gpt-5.5-pro); /model auto routes",
    "/route": "/route cheap|balanced|best picks the routing profile",
    "/approval": "/approval ask|auto-edit|full-auto|read-only sets which tool calls need asking (Shift+Tab cycles)",
    "/cost": "spend so far, per model; /cost explain lists each call and the price row and hours that priced it",
    "/context": "what of the repository is in the prompt",
    "/diff": "what this session changed",
    "/undo": "restore the files this session changed, not later edits (/undo --force: those too)",
    "/image": "/image PATH attaches an image to your next message (GPT-5.5 describes it)",
    "/compact": "summarise older turns to free the context window",
    "/mcp": "MCP servers of this session: status and tools",
    "/init": "propose a starter AGENTS.md for this repository; /init write writes it, /init force replaces one",
    "/clear": "start a new conversation in this session (the earlier one stays in the transcript)",
    "/resume": "/resume [ID] reopens a past session (no ID: pick one from a list)",
    "/quit": "leave (the session is saved as it goes)",
}

KEYS_HELP = ("Enter sends (queued while the agent works; Esc takes it back) · Ctrl+J new line · ↑/↓ history · "
             "Tab completes /commands and @paths · PageUp/PageDown scroll · Shift+Tab approval mode · "
             "Ctrl+O expands tool output · Ctrl+C interrupts, twice quits · Ctrl+T light/dark\n"
             "During a turn /help /cost /context /diff /approval run at once; other commands wait for it.")


@dataclass(frozen=True)
class Command:
    name: str
    argument: str


def parse(text: str) -> Command | None:
    """A slash command, or None for a message to the model."""
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    name, _, argument = stripped.partition(" ")
    return Command(name.lower(), argument.strip())


def help_text() -> str:
    width = max(len(name) for name in COMMANDS)
    return "\n".join(f"{name:<{width}}  {text}" for name, text in COMMANDS.items()) + f"\n\n{KEYS_HELP}"


def complete(prefix: str, candidates: list[str]) -> list[str]:
    return [c for c in candidates if c.startswith(prefix)]
