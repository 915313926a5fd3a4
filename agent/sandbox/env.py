"""The environment of sandboxed commands: no API keys, no secret-named variables, caches in the private temp."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools.secret_files import SECRET_ENV_NAME
from tools.spawn import QUIET_ENV

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|^DEEPSEEK_|^OPENAI_", re.I)
AGENT_VARIABLES = ("SSH_AUTH_SOCK", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "DOCKER_HOST", "XDG_RUNTIME_DIR",
                   "DISPLAY", "WAYLAND_DISPLAY")
"""Where the user's agents listen: not handed to commands (see README, Safety: Unix sockets)."""
MARK_VARIABLE = "DUET_COMMAND_ID"
"""Set in every command's environment so its descendants can be found after it ends, even after setsid."""


def is_secret_name(name: str) -> bool:
    """API keys and secret-named variables: never in a sandboxed command's environment unless allowed."""
    return SECRET_NAME.search(name) is not None or SECRET_ENV_NAME.search(name) is not None


def sandbox_env(environ: Mapping[str, str], allow: Iterable[str], private_tmp: Path, marker: str,
                key_variables: Iterable[str] = ()) -> dict[str, str]:
    """The environment for one sandboxed command. `key_variables` (the configured providers' API key variables,
    whatever their names) are dropped even when allowed."""
    allowed = set(allow) - set(key_variables)
    keys = set(key_variables)
    env = {k: v for k, v in environ.items() if k not in keys and (k in allowed or not is_secret_name(k))
           and (k in allowed or k not in AGENT_VARIABLES)}
    env.update(QUIET_ENV)
    tmp = str(private_tmp)
    # HOME is read-only in the sandbox: tools that cache (go, pip, npm) cache in the run's temp dir instead.
    env.update({"TMPDIR": tmp, "XDG_CACHE_HOME": f"{tmp}/cache", "npm_config_cache": f"{tmp}/npm",
                MARK_VARIABLE: marker})
    return env
