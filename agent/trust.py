"""Trusted projects: a cloned repository's `.duet/config.toml` is untrusted input until the user says otherwise.

Until then its keys that can hurt (send a key elsewhere, lift approvals or the sandbox, or run programs) are
dropped with one warning. Trust is stored in the user's config directory, bound to
a hash of the file, so any later change to it asks again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

DANGEROUS_KEYS = ("providers", "approval", "allow_commands", "sandbox", "mcp_servers")
DANGEROUS_NESTED = ("base_url", "api_key_env")  # wherever they appear (e.g. [models."x"] base_url)
# What a model entry may not change: which endpoint and wire model a name is billed as (the ledger prices the
# name, so `deepseek-v4-flash` remapped to gpt-5.5-pro would spend dearly while counted as cheap), and whether it
# is sent images. New model entries are refused whole: they could only add such a mapping.
DANGEROUS_MODEL_KEYS = ("provider", "api_model", "api", "images", "base_url")


def project_config_path(workspace: Path) -> Path:
    return workspace / ".duet" / "config.toml"


def trust_store_path(user_config: Path) -> Path:
    """Beside the user's config file (never in the project, which the project could forge)."""
    return user_config.parent / "trusted.json"


def config_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(store: Path) -> dict[str, str]:
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def is_trusted(workspace: Path, user_config: Path) -> bool:
    """Has the user trusted this workspace's project config, exactly as it is now?"""
    path = project_config_path(workspace)
    if not path.is_file():
        return True
    return _load(trust_store_path(user_config)).get(str(workspace.resolve())) == config_digest(path)


def record_trust(workspace: Path, user_config: Path) -> str | None:
    """Trust the project config as it is now; returns its digest (None when there is no project config)."""
    path = project_config_path(workspace)
    if not path.is_file():
        return None
    store = trust_store_path(user_config)
    trusted = _load(store)
    trusted[str(workspace.resolve())] = digest = config_digest(path)
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.with_suffix(".tmp")
    tmp.write_text(json.dumps(trusted, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(store)
    return digest


def untrusted_layer(layer: Mapping[str, Any], known_models: Collection[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """The layer without its dangerous keys, and the dotted names of those dropped. `known_models`: the model
    entries defined before this layer (built in or the user's); an untrusted layer may only tune those."""
    dropped: list[str] = []
    models = layer.get("models")
    if isinstance(models, Mapping):
        kept: dict[str, Any] = {}
        for name, entry in models.items():
            if name not in known_models:
                dropped.append(f"models.{name}")
            elif isinstance(entry, Mapping):
                dropped += [f"models.{name}.{key}" for key in entry if key in DANGEROUS_MODEL_KEYS]
                kept[name] = {k: v for k, v in entry.items() if k not in DANGEROUS_MODEL_KEYS}
        layer = {**layer, "models": kept}

    def clean(node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            name = f"{prefix}{key}"
            if (not prefix and key in DANGEROUS_KEYS) or key in DANGEROUS_NESTED:
                dropped.append(name)
            elif isinstance(value, Mapping):
                out[key] = clean(value, f"{name}.")
            else:
                out[key] = value
        return out

    return clean(layer, ""), dropped


def untrusted_warning(path: Path, dropped: list[str]) -> str:
    return (f"{path} is not trusted: ignored {', '.join(dropped)} (run `agent trust` in this project if you "
            "trust this file)")
