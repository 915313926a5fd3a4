"""Layered configuration: defaults → user file → project file → environment → command-line flags."""

from __future__ import annotations

import copy
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent import trust
from agent.catalog import BUILTIN_MODELS, BUILTIN_PROVIDERS, Dialect, ModelConfig, ProviderConfig, WireApi
from agent.errors import ConfigError, MissingKeyError
from agent.mcp.config import McpServerConfig
from agent.roles import Role
from agent.spend.prices import PriceRow, PriceTable, charges_at_least
from tools.secret_files import SecretFiles

Approval = Literal["read-only", "ask", "auto-edit", "full-auto"]
RouteProfile = str  # the name of a `[routes.NAME]` entry, or AUTO_ROUTE
AUTO_ROUTE = "auto"  # reserved: resolved by the routing policy (agent/routing), never a `[routes]` entry
ROUTES_FILE = Path(__file__).with_name("routes.toml")  # the shipped profiles and fallback chains


class RetryConfig(BaseModel):
    """How provider calls are retried and bounded."""

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=4, ge=0, description="Retries after the first attempt.")
    backoff_base_s: float = Field(default=1.0, ge=0, description="First backoff delay; doubles each retry.")
    backoff_cap_s: float = Field(default=30.0, ge=0, description="Largest backoff delay.")
    retry_after_cap_s: float = Field(default=60.0, ge=0, description="Largest Retry-After honoured.")
    call_deadline_s: float = Field(default=600.0, gt=0, description="Wall-clock limit of one attempt.")
    read_timeout_s: float = Field(default=120.0, gt=0, description="Longest silence inside a stream.")


class ContextConfig(BaseModel):
    """How much of the repository goes into the prompt."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Put the repository (pack or map) in the prompt.")
    reserve_tokens: int = Field(default=200_000, ge=0, description="Window kept for conversation and answer.")
    max_uncached_turn_usd: float = Field(default=1.0, gt=0,
                                         description="Pack only if one uncached turn costs at most this.")
    pack_min_window: int = Field(default=1_000_000, gt=0, description="Only models this long-context get the pack.")
    map_tokens: int = Field(default=8_192, gt=0, description="Budget of the repo map's signatures.")
    map_files_tokens: int = Field(default=24_000, ge=0, description="Whole top-ranked files added after the map.")


class SandboxConfig(BaseModel):
    """How commands run for the model are confined (see README, Safety)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["on", "off"] = Field(default="on", description="`off` runs commands unconfined.")
    network: bool = Field(default=False, description="Let sandboxed commands connect and bind TCP ports.")
    env_allow: list[str] = Field(default_factory=list,
                                 description="Secret-named environment variables passed to commands anyway.")
    mechanism: Literal["auto", "landlock", "bwrap"] = Field(default="auto",
                                                            description="Force one sandbox mechanism.")
    read_secret_files: bool = Field(default=False, description="Let commands read the workspace's secret files "
                                    "(.env, credentials…), e.g. for tests that need them; their values stay redacted.")
    home_allow: list[str] = Field(default_factory=list, description="Paths in HOME (relative, e.g. `.m2/wrapper`) "
                                  "that commands may read, besides the toolchain dirs Duet allows; the rest of HOME "
                                  "is hidden from them.")


class RouteConfig(BaseModel):
    """A routing profile: which model plays each role. An empty role is a step the profile does not take."""

    model_config = ConfigDict(extra="forbid")

    execute: str = Field(description="The driver: the model that calls the tools.")
    plan: str | None = Field(default=None, description="Writes a short plan before the driver starts.")
    review: str | None = Field(default=None, description="Reviews the finished diff: approve or request changes.")
    vision: str | None = Field(default=None, description="Reads images for a text-only driver.")
    summary: str | None = Field(default=None, description="Summaries and compaction (default: the driver).")
    escalate: str | None = Field(default=None, description="Takes over after repeated failed attempts.")
    overflow: str | None = Field(default=None, description="Takes over when the context outgrows the "
                                 "driver's window (default: the model with the longest window).")
    rank: int = Field(default=0, ge=0, description="Relative cost: an untrusted project may only choose a "
                      "profile whose rank is at most the one it replaces.")

    def model_for(self, role: Role) -> str | None:
        """The model playing `role` in this profile (None: the profile has no such step)."""
        value = getattr(self, role, None)
        return value if isinstance(value, str) else None


class Config(BaseModel):
    """The effective configuration of a run."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="Pin every step to this model.")
    routes: dict[str, RouteConfig] = Field(default_factory=dict, description="Routing profiles by name.")
    route: RouteProfile = Field(default="balanced", description="Routing profile: a `[routes]` entry, or "
                                "`auto` (the routing policy).")
    fallback: bool = Field(default=True, description="Move to a model's `fallback` chain when its provider stays "
                           "down (`--no-fallback`: the run ends UNAVAILABLE instead).")
    review_rounds: int = Field(default=2, ge=0, description="Review rounds whose requested changes go back "
                               "to the driver before the run ends with the verdict.")
    approval: Approval = Field(default="ask", description="Which tool calls need approval.")
    max_turns: int = Field(default=60, gt=0, description="Model calls allowed in one run.")
    max_cost: float | None = Field(default=None, gt=0, description="Budget in USD for one run.")
    timeout_s: float | None = Field(default=None, gt=0, description="Wall-clock limit of one run.")
    shell_timeout_s: float = Field(default=120.0, gt=0, description="Default timeout of a shell command.")
    escalate_after: int = Field(default=2, ge=1, description="Failed attempts before moving up a model tier.")
    allow_commands: list[str] = Field(
        default_factory=list, description="Regexes of otherwise refused dangerous commands to allow; each lifts a "
                                          "refusal only for a single simple command it matches as a whole."
    )
    secret_files: list[str] = Field(
        default_factory=list, description="Globs of further secret files, added to the built-in list."
    )
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    prices: list[PriceRow] = Field(default_factory=list, description="Extra dated price rows.")
    retry: RetryConfig = Field(default_factory=RetryConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    mcp_servers: dict[str, McpServerConfig] = Field(
        default_factory=dict, description="MCP servers started with each session (never from an untrusted project).")
    mcp: bool = Field(default=True, description="Start the MCP servers of `mcp_servers` (`--no-mcp`: none).")
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @field_validator("route")
    @classmethod
    def _route_is_defined(cls, value: str, info: ValidationInfo) -> str:
        routes = info.data.get("routes") or {}
        if value != AUTO_ROUTE and routes and value not in routes:
            raise ValueError(f"unknown route {value!r} (known: {', '.join(sorted(routes))}, auto)")
        return value

    @model_validator(mode="after")
    def _routes_name_known_models(self) -> Config:
        for name, route in self.routes.items():
            for role in ("execute", "plan", "review", "vision", "summary", "escalate", "overflow"):
                model = getattr(route, role)
                if model is not None and self.models and model not in self.models:
                    raise ValueError(f"routes.{name}.{role} names unknown model {model!r}")
        for name, spec in self.models.items():
            unknown = [m for m in spec.fallback if m not in self.models]
            if unknown:
                raise ValueError(f"models.{name}.fallback names unknown model {unknown[0]!r}")
        return self

    def route_profile(self, name: str | None = None) -> RouteConfig:
        """The profile named `name` (default: the configured route; `auto` unresolved reads as `balanced`)."""
        name = name or self.route
        if name == AUTO_ROUTE and name not in self.routes:
            name = "balanced"
        if name not in self.routes:
            raise ConfigError(f"unknown route {name!r} (known: {', '.join(sorted(self.routes))})")
        return self.routes[name]

    @property
    def warnings(self) -> list[str]:
        """What loading said about the configuration (keys of an untrusted project ignored)."""
        return self._warnings

    def model_spec(self, name: str) -> ModelConfig:
        if name not in self.models:
            known = ", ".join(sorted(self.models))
            raise ConfigError(f"unknown model {name!r} (known: {known})")
        return self.models[name]

    def provider_of(self, name: str) -> ProviderConfig:
        spec = self.model_spec(name)
        if spec.provider not in self.providers:
            raise ConfigError(f"model {name!r} names unknown provider {spec.provider!r}")
        return self.providers[spec.provider]

    def dialect_of(self, name: str) -> Dialect:
        """The dialect of `name`'s provider (from config, never from the model's name)."""
        return self.provider_of(name).dialect

    def api_of(self, name: str) -> WireApi:
        """The wire API `name` is called through: the model's own setting, else its provider's."""
        return self.model_spec(name).api or self.provider_of(name).api

    def base_url_of(self, name: str) -> str:
        return self.model_spec(name).base_url or self.provider_of(name).base_url

    def api_key_of(self, name: str, environ: Mapping[str, str] | None = None) -> str:
        """The key for `name`'s provider, or a MissingKeyError naming the variable."""
        env = os.environ if environ is None else environ
        variable = self.provider_of(name).api_key_env
        key = env.get(variable, "").strip()
        if not key:
            raise MissingKeyError(variable, name)
        return key

    def secret_file_list(self) -> SecretFiles:
        """The built-in secret files plus the configured ones."""
        return SecretFiles(self.secret_files)

    def price_table(self) -> PriceTable:
        return PriceTable.builtin(self.prices)


ENV_SETTINGS: dict[str, tuple[str, ...]] = {
    "DEEPSEEK_BASE_URL": ("providers", "deepseek", "base_url"),
    "OPENAI_BASE_URL": ("providers", "openai", "base_url"),
    "DUET_MODEL": ("model",),
    "DUET_ROUTE": ("route",),
    "DUET_APPROVAL": ("approval",),
    "DUET_MAX_COST": ("max_cost",),
}


ENV_NAMES: dict[str, str] = {".".join(keys): variable for variable, keys in ENV_SETTINGS.items()}


def builtin_defaults() -> dict[str, Any]:
    """The built-in providers and models, with the shipped routes and fallback chains (agent/routes.toml)."""
    shipped = tomllib.loads(ROUTES_FILE.read_text(encoding="utf-8"))
    return deep_merge({"providers": copy.deepcopy(BUILTIN_PROVIDERS), "models": copy.deepcopy(BUILTIN_MODELS)},
                      shipped)


def user_config_path(environ: Mapping[str, str]) -> Path:
    from agent.userdirs import config_dir

    return config_dir(environ) / "config.toml"


def load_config(
    workspace: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge every layer, validating each so an error names the layer and the key."""
    env = os.environ if environ is None else environ
    merged = builtin_defaults()
    layers: list[tuple[str, dict[str, Any]]] = []
    warnings: list[str] = []
    user = user_config_path(env)
    if user.is_file():
        layers.append((str(user), _read_toml(user)))
    known_models = {*merged["models"], *(name for _, layer in layers for name in layer.get("models", {}) or {})}
    project = trust.project_config_path(workspace)
    if project.is_file():
        layer = _read_toml(project)
        if not trust.is_trusted(workspace, user):  # a cloned repository is untrusted input
            layer, dropped = trust.untrusted_layer(layer, known_models)
            before = _validate(deep_merge(merged, layers[0][1]) if layers else merged, layers[0][0] if layers
                               else "configuration")
            layer, loosened = tighten_only(layer, before)
            dropped += loosened
            if dropped:
                warnings.append(trust.untrusted_warning(project, dropped))
        layers.append((str(project), layer))
    layers.append(("environment", _env_layer(env)))
    layers.append(("command line", {k: v for k, v in (overrides or {}).items() if v is not None}))
    bases: dict[str, Path | None] = {}  # where each MCP server starts: its config file's directory
    home = Path(env.get("HOME") or Path.home())
    for source, layer in layers:
        merged = _replace_mcp_servers(merged, layer, bases, user.parent if source == str(user) else None
                                      if source == str(project) else home if home.is_dir() else Path("/"))
        merged = deep_merge(merged, layer)
        _validate(merged, source, ENV_NAMES if source == "environment" else {})
    config = _validate(merged, "configuration")
    for name, server in config.mcp_servers.items():
        server._base = bases.get(name)
    config._warnings = warnings
    return config


# What an untrusted project may only tighten, and which way is tighter: min for a ceiling, max for a floor (a
# higher `pack_min_window` packs less, a higher `escalate_after` moves up to a dearer tier later).
TIGHTEN_ONLY: dict[tuple[str, ...], Callable[[Any, Any], Any]] = {
    ("max_turns",): min, ("max_cost",): min, ("timeout_s",): min, ("shell_timeout_s",): min,
    ("escalate_after",): max, ("retry", "max_retries"): min, ("retry", "call_deadline_s"): min,
    ("retry", "read_timeout_s"): min, ("context", "max_uncached_turn_usd"): min,
    ("context", "pack_min_window"): max, ("context", "map_tokens"): min, ("context", "map_files_tokens"): min,
    ("review_rounds",): min,
}
# Which model is called, how hard it thinks and where it sits in escalation decide what a run costs: the user's.
# A route may only move toward the cheaper profiles.
UNTRUSTED_CHOICES = ("model", "routes")
MODEL_TIGHTEN_ONLY: dict[str, Callable[[Any, Any], Any]] = {"max_output_tokens": min}
# A smaller window is no tightening: it sends the conversation to the longest-window model (the router's
# overflow), GPT-5.5 at ~20x the price. Like the model itself, it is the user's choice.
MODEL_CHOICES = ("thinking", "reasoning_effort", "escalated_effort", "fallback", "context_window")


def _route_rank(config: Config, name: object) -> int:
    """How dear a route is: `auto` (it may pick any profile) counts as dearest; a name that is no route as
    cheapest, so that it is kept and reported as the configuration error it is."""
    route = config.routes.get(str(name))
    if route is not None:
        return route.rank
    return 1 << 30 if name == AUTO_ROUTE else -1


def tighten_only(layer: Mapping[str, Any], before: Config) -> tuple[dict[str, Any], list[str]]:
    """An untrusted project's layer that can only tighten `before` (the defaults and the user's file): each limit
    the tighter of the two, no choice of model or route, price rows only if they charge at least the trusted
    table. Returns the layer and the dotted names of what it could not loosen (for the one warning)."""
    out = copy.deepcopy(dict(layer))
    dropped: list[str] = [key for key in UNTRUSTED_CHOICES if out.pop(key, None) is not None]
    if "route" in out and _route_rank(before, out["route"]) > _route_rank(before, before.route):
        dropped.append(f"route {out.pop('route')!r}")
    if out.get("fallback") is not False and "fallback" in out and not before.fallback:
        dropped.append("fallback")
        out.pop("fallback")
    for path, tighter in TIGHTEN_ONLY.items():
        node: Any = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or path[-1] not in node:
            continue
        ours: Any = before
        for key in path:
            ours = getattr(ours, key)
        if _set_tighter(node, path[-1], ours, tighter):
            dropped.append(".".join(path))
    models = out.get("models")
    for name, entry in (models.items() if isinstance(models, dict) else ()):
        if not isinstance(entry, dict) or name not in before.models:
            continue
        dropped += [f"models.{name}.{key}" for key in MODEL_CHOICES if entry.pop(key, None) is not None]
        for key, tighter in MODEL_TIGHTEN_ONLY.items():
            if key in entry and _set_tighter(entry, key, getattr(before.models[name], key), tighter):
                dropped.append(f"models.{name}.{key}")
    rows = out.get("prices")
    if isinstance(rows, list):
        table = before.price_table()
        kept = []
        for index, row in enumerate(rows):
            try:
                priced = PriceRow.model_validate(row)
            except ValidationError:
                kept.append(row)  # reported as the project's error by the validation of the merged layers
                continue
            if charges_at_least(priced, table):
                kept.append(row)
            else:
                dropped.append(f"prices[{index}] ({priced.model}: cheaper than the built-in or your prices)")
        out["prices"] = kept
    return out, dropped


def _tighter(theirs: Any, ours: Any, tighter: Callable[[Any, Any], Any]) -> tuple[Any, bool]:
    """The tighter of an untrusted value and ours (None: ours is no limit, so theirs is tighter), and whether
    theirs was looser. Anything but a plain number (a string validation would turn into one, a bool, NaN) is
    looser by definition: `_DROP`."""
    if not isinstance(theirs, int | float) or isinstance(theirs, bool) or math.isnan(theirs):
        return _DROP, True
    if ours is None:
        return theirs, False
    kept = tighter(theirs, ours)
    return kept, kept != theirs


def _set_tighter(node: dict[str, Any], key: str, ours: Any, tighter: Callable[[Any, Any], Any]) -> bool:
    """`node[key]` made the tighter of it and `ours` (removed when it is no number); whether it was looser."""
    kept, loosened = _tighter(node[key], ours, tighter)
    if kept is _DROP:
        del node[key]
    else:
        node[key] = kept
    return loosened


_DROP = object()
REPLACED_LISTS = frozenset({"fallback"})


def deep_merge(base: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: tables merge key by key, lists are extended (a fallback chain is replaced: it is an order),
    anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list) and key not in REPLACED_LISTS:
            out[key] = out[key] + list(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _replace_mcp_servers(merged: dict[str, Any], layer: Mapping[str, Any], bases: dict[str, Path | None],
                         base: Path | None) -> dict[str, Any]:
    """An `mcp_servers.NAME` entry that names a transport replaces the earlier layers' entry whole (no list of
    theirs extended, no `url` beside their `command`); one without (e.g. `enabled = false`) changes only the
    keys it sets. `bases` records the directory of the layer that defined each (None: the workspace)."""
    servers = layer.get("mcp_servers")
    if not isinstance(servers, Mapping) or not isinstance(merged.get("mcp_servers"), dict):
        if isinstance(servers, Mapping):
            bases.update({name: base for name in servers})
        return merged
    earlier = dict(merged["mcp_servers"])
    for name, entry in servers.items():
        if not isinstance(entry, Mapping):
            continue
        if "command" in entry or "url" in entry or name not in earlier:
            earlier.pop(name, None)
            bases[name] = base
        elif isinstance(earlier[name], dict):
            earlier[name] = {k: v for k, v in earlier[name].items() if k not in entry}
    return {**merged, "mcp_servers": earlier}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
        if b"\x00" in data:
            raise ConfigError(f"config error in {path}: binary file, not TOML text")
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config error in {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                          f"{exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error in {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config error in {path}: nested too deeply to be a Duet config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for variable, keys in ENV_SETTINGS.items():
        value = env.get(variable)
        if not value:
            continue
        node = layer
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return layer


def _validate(data: dict[str, Any], source: str, names: Mapping[str, str] | None = None) -> Config:
    """The merged layers as a Config; an error names the key as the user wrote it (a variable for the environment)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"])
        key = (names or {}).get(key, key)
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"config error in {source}: unknown key {key!r}") from None
        raise ConfigError(f"config error in {source}: {key}: {err['msg'].removeprefix('Value error, ')}") from None
