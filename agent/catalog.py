"""Built-in providers and models. Everything here can be overridden in configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Dialect = Literal["deepseek", "openai"]


class ProviderConfig(BaseModel):
    """An OpenAI-compatible endpoint and the dialect it speaks."""

    model_config = ConfigDict(extra="forbid")

    dialect: Dialect = Field(description="Which API's quirks the endpoint has.")
    base_url: str = Field(description="Chat Completions base URL.")
    api_key_env: str = Field(description="Environment variable holding the API key.")


class ModelConfig(BaseModel):
    """One model Duet can call."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="Name of an entry under [providers].")
    api_model: str | None = Field(default=None, description="Model id sent on the wire (defaults to the name).")
    base_url: str | None = Field(default=None, description="Overrides the provider's base URL for this model.")
    context_window: int = Field(gt=0, description="Context window in tokens.")
    max_output_tokens: int = Field(gt=0, description="Largest answer the model may give.")
    images: bool = Field(default=False, description="Accepts image content parts.")
    thinking: bool = Field(default=False, description="DeepSeek thinking mode (reasoning echoed back).")
    reasoning_effort: Literal["low", "medium", "high"] | None = Field(
        default=None, description="Reasoning effort; omitted automatically where the API forbids it."
    )
    tier: int = Field(default=1, ge=0, description="Capability tier used for escalation (higher is stronger).")


BUILTIN_PROVIDERS: dict[str, dict[str, str]] = {
    "deepseek": {"dialect": "deepseek", "base_url": "https://api.deepseek.com", "api_key_env": "DEEPSEEK_API_KEY"},
    "openai": {"dialect": "openai", "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"},
}

BUILTIN_MODELS: dict[str, dict[str, object]] = {
    "deepseek-v4-flash": {
        "provider": "deepseek", "context_window": 1_000_000, "max_output_tokens": 384_000,
        "images": False, "thinking": True, "tier": 1,
    },
    "deepseek-v4-pro": {
        "provider": "deepseek", "context_window": 1_000_000, "max_output_tokens": 384_000,
        "images": False, "thinking": True, "tier": 2,
    },
    "gpt-5.5": {
        "provider": "openai", "api_model": "gpt-5.5", "context_window": 400_000, "max_output_tokens": 128_000,
        "images": True, "thinking": False, "reasoning_effort": "medium", "tier": 3,
    },
    "gpt-5.5-pro": {
        "provider": "openai", "context_window": 400_000, "max_output_tokens": 128_000,
        "images": True, "thinking": False, "tier": 4,
    },
}
