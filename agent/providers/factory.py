"""Building a ChatProvider for a catalog model from the configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from agent.config import Config
from agent.providers.chat import ChatProvider


def make_provider(config: Config, model: str, *, on_notice: Callable[[str], None] | None = None,
                  environ: Mapping[str, str] | None = None) -> ChatProvider:
    """A provider for `model`; raises MissingKeyError naming the variable when its key is unset."""
    spec = config.model_spec(model)
    return ChatProvider(
        name=model, spec=spec, dialect=config.provider_of(model).dialect, base_url=config.base_url_of(model),
        api_key=config.api_key_of(model, environ), retry=config.retry, on_notice=on_notice,
    )
