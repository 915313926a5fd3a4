"""Errors the user must fix. Each carries the exit code the CLI returns for it."""

from __future__ import annotations


class DuetError(Exception):
    """An error reported to the user as one line, with a documented exit code."""

    exit_code = 2


class ConfigError(DuetError):
    """Bad configuration or usage (exit 2)."""


class MissingKeyError(ConfigError):
    """The API key variable a needed model uses is not set."""

    def __init__(self, variable: str, model: str) -> None:
        super().__init__(
            f"{variable} is not set (needed for model {model}); export it, or try `agent demo`, "
            "which needs no key"
        )
        self.variable = variable
