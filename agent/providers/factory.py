"""Building the provider for a catalog model from the configuration: its wire API, dialect and limits
all come from the model's and provider's config entries."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from agent.config import Config
from agent.providers.base import ModelClient
from agent.providers.calls import CallRunner, make_client
from agent.providers.chat import ChatProvider
from agent.providers.responses import ResponsesProvider
from agent.providers.responses_wire import responses_origin


def make_provider(config: Config, model: str, *, on_notice: Callable[[str], None] | None = None,
                  environ: Mapping[str, str] | None = None, cache_key: str = "") -> ModelClient:
    """A provider for `model`; raises MissingKeyError naming the variable when its key is unset.

    `cache_key` (stable for a session) keeps a session's Responses calls on one prompt cache.
    """
    spec = config.model_spec(model)
    key = config.api_key_of(model, environ)
    runner = CallRunner(name=model, retry=config.retry, secret=key, on_notice=on_notice or (lambda _m: None))
    client = make_client(config.base_url_of(model), key, config.retry)
    if config.api_of(model) == "responses":
        origin = responses_origin(config.model_spec(model).provider, spec.api_model or model)
        return ResponsesProvider(name=model, spec=spec, origin=origin, client=client, runner=runner,
                                 cache_key=cache_key)
    return ChatProvider(name=model, spec=spec, dialect=config.dialect_of(model), client=client, runner=runner)
