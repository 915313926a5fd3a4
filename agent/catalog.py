"""Built-in providers and models. Everything here can be overridden in configuration.

Every fact about how to talk to a model (dialect, wire API, tokenizer, window, output limit, reasoning
settings) lives in these entries; nothing anywhere is decided from the spelling of a model's name.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Dialect = Literal["deepseek", "openai", "openrouter", "compatible"]
"""Which server's quirks an endpoint has:
deepseek: thinking switch, `reasoning_content` streamed and echoed on every assistant turn, `max_tokens`;
openai: OpenAI itself (`max_completion_tokens`, no `reasoning_effort` with tools on Chat Completions);
openrouter: `delta.reasoning` / `reasoning_details` streamed, `reasoning_details` sent back, `reasoning.effort`;
compatible: a plain OpenAI-compatible server (vLLM, SGLang, llama.cpp, a LiteLLM proxy), `max_tokens`."""
WireApi = Literal["chat", "responses"]
Tokenizer = Literal["o200k", "deepseek-v4"]
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
PromptSet = Literal["edit", "patch"]
"""Which editing instructions a model's system prompt carries (prompts/system_set_<name>.md): `edit` puts the
exact `old → new` replace first (what DeepSeek handles best), `patch` puts Codex's apply_patch first (the format
GPT models are trained on)."""


def _checked_url(url: str) -> str:
    """An http(s) URL with a host: a typo is a config error now, not a provider 'unavailable' after retries."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc}): {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"wants an http:// or https:// URL with a host, not {url!r}")
    return url


BaseUrl = Annotated[str, AfterValidator(_checked_url)]


class ProviderConfig(BaseModel):
    """An endpoint and the dialect it speaks."""

    model_config = ConfigDict(extra="forbid")

    dialect: Dialect = Field(description="Which API's quirks the endpoint has.")
    base_url: BaseUrl = Field(description="Base URL the SDK appends /chat/completions or /responses to.")
    api_key_env: str = Field(description="Environment variable holding the API key.")
    api: WireApi = Field(default="chat", description="Wire API of the endpoint's models: chat or responses.")


class ModelConfig(BaseModel):
    """One model Duet can call."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="Name of an entry under [providers].")
    api_model: str | None = Field(default=None, description="Model id sent on the wire (defaults to the name).")
    base_url: BaseUrl | None = Field(default=None, description="Overrides the provider's base URL for this model.")
    api: WireApi | None = Field(default=None, description="Overrides the provider's wire API for this model.")
    tokenizer: Tokenizer = Field(default="o200k", description="Vocabulary used to count this model's tokens.")
    context_window: int = Field(gt=0, description="Context window in tokens.")
    max_output_tokens: int = Field(gt=0, description="Largest answer the model may give (sent with every call).")
    images: bool = Field(default=False, description="Accepts image content parts.")
    thinking: bool = Field(default=False, description="DeepSeek thinking mode (reasoning echoed back).")
    reasoning_effort: Effort | None = Field(
        default=None, description="Reasoning effort; omitted automatically where the API forbids it."
    )
    escalated_effort: Effort | None = Field(
        default=None, description="Reasoning effort once a run has escalated (fix-tests' stronger tier).")
    reasoning_summary: Literal["auto", "concise", "detailed"] | None = Field(
        default="auto", description="Responses API: reasoning summaries to stream (shown like reasoning).")
    tier: int = Field(default=1, ge=0, description="Capability tier used for escalation (higher is stronger).")
    prompt_set: PromptSet = Field(default="edit", description="Editing instructions in the system prompt: `edit` "
                                  "(edit_file first) or `patch` (apply_patch first).")
    tools: list[str] | None = Field(default=None, description="Built-in tools this model gets, in this order "
                                    "(default: all of them); MCP tools are added after.")
    freeform_apply_patch: bool = Field(default=False, description="Responses API: send apply_patch as a freeform "
                                       "(custom) tool constrained by its Lark grammar, as Codex does.")

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, names: list[str] | None) -> list[str] | None:
        from tools.registry import default_tools  # the tools' classes, imported on use

        known = [tool.name for tool in default_tools()]
        unknown = [name for name in names or [] if name not in known]
        if unknown:
            raise ValueError(f"unknown built-in tool(s) {', '.join(unknown)} (known: {', '.join(known)})")
        return names


BUILTIN_PROVIDERS: dict[str, dict[str, str]] = {
    "deepseek": {"dialect": "deepseek", "base_url": "https://api.deepseek.com", "api_key_env": "DEEPSEEK_API_KEY",
                 "api": "chat"},
    "openai": {"dialect": "openai", "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY",
               "api": "responses"},
}

# The built-in tools in the order each kind of model reads them: the edit tool it handles best comes first.
EXACT_EDIT_FIRST = ["edit_file", "read_file", "search", "find_symbol", "list_files", "shell", "write_file",
                    "apply_patch", "view_image", "screenshot"]
PATCH_FIRST = ["apply_patch", "shell", "read_file", "search", "find_symbol", "list_files", "edit_file",
               "write_file", "view_image", "screenshot"]

BUILTIN_MODELS: dict[str, dict[str, object]] = {
    "deepseek-v4-flash": {
        "provider": "deepseek", "context_window": 1_000_000, "max_output_tokens": 384_000,
        "tokenizer": "deepseek-v4", "images": False, "thinking": True, "tier": 1, "prompt_set": "edit",
        "tools": EXACT_EDIT_FIRST,
    },
    "deepseek-v4-pro": {
        "provider": "deepseek", "context_window": 1_000_000, "max_output_tokens": 384_000,
        "tokenizer": "deepseek-v4", "images": False, "thinking": True, "tier": 2, "prompt_set": "edit",
        "tools": EXACT_EDIT_FIRST,
    },
    "gpt-5.5": {
        "provider": "openai", "api_model": "gpt-5.5", "context_window": 400_000, "max_output_tokens": 128_000,
        "tokenizer": "o200k", "images": True, "thinking": False, "reasoning_effort": "medium",
        "escalated_effort": "high", "tier": 3, "prompt_set": "patch", "tools": PATCH_FIRST,
        "freeform_apply_patch": True,
    },
    "gpt-5.5-pro": {
        "provider": "openai", "context_window": 400_000, "max_output_tokens": 128_000, "tokenizer": "o200k",
        "images": True, "thinking": False, "reasoning_effort": "high", "tier": 4, "prompt_set": "patch",
        "tools": PATCH_FIRST, "freeform_apply_patch": True,
    },
}
