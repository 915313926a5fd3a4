"""A TOML file a user names (an eval suite, a routing policy): parsed, or one line saying why not."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from agent.errors import ConfigError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """`path` parsed as TOML; a ConfigError "`what` `path`: …" when it is missing, unreadable or not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path}: not valid TOML ({exc})") from None
