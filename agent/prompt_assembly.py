"""What the model is sent besides the conversation: the system message and the tool schemas for each model, with
their token counts, and whether the whole prompt fits the model's window."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from agent.context.source import ContextSource
from agent.events import Notice
from agent.instructions.system import SystemPrompt
from agent.instructions.toolset import tool_schemas
from agent.messages import Message, SystemMessage
from agent.session import Session
from agent.spend.budget import estimate_prompt_tokens
from agent.tokens import count_tokens
from agent.window import can_answer, fits
from agent.wiretext import escaped_bytes
from tools.registry import ToolBox


class PromptAssembly:
    """The prompt per model for one session. The system message is rendered once per model (the byte-stable
    prefix providers cache); `system_prompt` may be replaced (a new approval mode), which renders it again."""

    def __init__(self, session: Session, system_prompt: SystemPrompt, context: ContextSource | None,
                 toolbox: Callable[[], ToolBox]) -> None:
        self.session = session
        self.context = context
        self._system_prompt = system_prompt
        self._toolbox = toolbox
        self._systems: dict[str, SystemMessage] = {}
        self._system_tokens: dict[str, int] = {}  # the system message's tokens: the repository's own count
        self._tool_tokens: dict[str, int] = {}  # the tool schemas' tokens, per model
        self._without_context: set[str] = set()  # models whose window cannot hold the repository as well

    @property
    def system_prompt(self) -> SystemPrompt:
        return self._system_prompt

    @system_prompt.setter
    def system_prompt(self, prompt: SystemPrompt) -> None:
        if prompt != self._system_prompt:
            self._system_prompt = prompt
            self._systems.clear()
            self._system_tokens.clear()

    async def ready(self, model: str) -> None:
        """Plan the repository context off the event loop: scanning a big repository must not freeze a UI."""
        if self.context is not None and model not in self._systems:
            await asyncio.to_thread(self.context.plan_for, model)

    def system_for(self, model: str) -> SystemMessage:
        """The fixed first message for `model`: instructions, the repository (pack or map), the session's facts."""
        if model not in self._systems:
            # Instructions, AGENTS.md and facts redacted here; the repository context was redacted as it was rendered.
            repository = self.context.text_for(model) if self.context and model not in self._without_context else ""
            spec = self.session.config.models.get(model)
            redact = self.session.redact
            prompt = self._system_prompt.for_set(spec.prompt_set) if spec else self._system_prompt
            text = escaped_bytes(SystemPrompt(redact(prompt.stable), redact(prompt.session)).text(repository))
            same = next((m for m in self._systems.values() if m.content == text), None)
            self._systems[model] = same or SystemMessage(content=text)
            counted = self.context.plan_for(model).tokens if repository and self.context else 0
            self._system_tokens[model] = estimate_prompt_tokens([SystemMessage(content=text[:len(text) - len(
                repository)])], 0) + counted
        return self._systems[model]

    def messages_for(self, model: str) -> list[Message]:
        return [self.system_for(model), *self.session.messages]

    def schemas_for(self, model: str) -> list[dict[str, Any]]:
        """The tool schemas `model` gets: its own list from its config entry (agent.instructions.toolset)."""
        config = self.session.config
        spec = config.models.get(model)
        return tool_schemas(self._toolbox(), spec, config.api_of(model) if spec else "chat")

    def estimate(self, model: str, messages: list[Message]) -> int:
        """The prompt's tokens for `model`: the tool schemas counted with its tokenizer (once), the rest estimated
        high. A small window needs the real figure: the schemas alone are a large share of 4K tokens."""
        spec = self.session.config.models.get(model)
        if spec is None:
            return estimate_prompt_tokens(messages)
        key = model  # each model has its own tools (list, order, freeform apply_patch, short descriptions)
        if key not in self._tool_tokens:
            schemas = json.dumps(self.schemas_for(model), ensure_ascii=False)
            self._tool_tokens[key] = count_tokens(schemas, spec.tokenizer)
        system = self._systems.get(model)
        if messages and system is not None and messages[0] is system and model in self._system_tokens:
            # The repository in the system message has its own count (a 900K-token pack is 4M characters:
            # the three-characters-per-token guess would call it 1.3M tokens and drop it from a 1M window).
            return self._tool_tokens[key] + self._system_tokens[model] + estimate_prompt_tokens(messages[1:], 0)
        return estimate_prompt_tokens(messages, self._tool_tokens[key])

    def near_window(self, model: str) -> bool:
        spec = self.session.config.models.get(model)
        return spec is not None and not fits(spec, self.estimate(model, self.messages_for(model)))

    def refusal(self, model: str) -> str:
        """Why the next prompt cannot be sent to `model` at all (empty if it can). A small window drops the
        repository context first: the task itself matters more than the repository map."""
        spec = self.session.config.models.get(model)
        if spec is None:
            return ""
        tokens = self.estimate(model, self.messages_for(model))
        if not can_answer(spec, tokens) and self.context and model not in self._without_context:
            self._without_context.add(model)
            self._systems.pop(model, None)
            self._system_tokens.pop(model, None)
            self.session.emit(Notice(level="warning", message=f"the repository context does not fit {model}'s "
                                     f"{spec.context_window:,}-token window; sending the conversation without it"))
            tokens = self.estimate(model, self.messages_for(model))
        if can_answer(spec, tokens):
            return ""
        return (f"the prompt (~{tokens:,} tokens) does not fit {model}'s {spec.context_window:,}-token window "
                "even after compaction; nothing was sent (use a model with a larger window, or start a new session)")

    def current_tokens(self, model: str | None) -> int:
        """Estimated prompt size for `model` now, without planning a context that is not ready yet."""
        system = self._systems.get(model or "")
        return estimate_prompt_tokens([system, *self.session.messages] if system else self.session.messages)
