"""One MCP server's configuration (`[mcp_servers.NAME]` in config.toml): stdio (`command`) or HTTP (`url`)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from tools.secret_files import SECRET_ENV_NAME

_PIN = re.compile(r"(^|_)PIN($|_)|PASSCODE|PASSPHRASE", re.I)


class McpServerConfig(BaseModel):
    """How to start or reach one MCP server, and which of its tools the models get."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(default=None, description="Program started as a stdio server.")
    args: list[str] = Field(default_factory=list, description="Its arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Variables set for it, on top of a minimal "
                                "environment (HOME, PATH, USER, SHELL, TERM, LOGNAME): no API key leaks in.")
    cwd: str | None = Field(default=None, description="Its working directory (default, and base of a relative one "
                            "or of a relative command: the directory of the config file that defines it; the "
                            "workspace only for a trusted project's own config).")
    url: str | None = Field(default=None, description="Streamable HTTP endpoint.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers sent with every request.")
    tools: list[str] | None = Field(default=None, description="Only these of its tools (default: all).")
    approved_tools: list[str] = Field(default_factory=list, description="Its tools that run without asking in "
                                      "ask and auto-edit modes (`*`: all of them).")
    enabled: bool = Field(default=True, description="False leaves the server out.")
    startup_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for it to start and list tools.")
    tool_timeout_s: float = Field(default=60.0, gt=0, description="Longest wait for one tool call.")
    _base: Path | None = PrivateAttr(default=None)
    """Where it starts: set by `load_config` from the layer that defined it (None: the workspace)."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of `command` (stdio) or `url` (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("`url` must start with http:// or https://")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def start_dir(self, workspace: Path) -> Path:
        """The working directory of a stdio server. Never the workspace unless a trusted project's config asked:
        a server from the user's config started there would import the repository's code (python's cwd is on
        sys.path), before and outside any sandbox."""
        base = self._base if self._base is not None else workspace
        return base / Path(self.cwd).expanduser() if self.cwd else base

    def program(self, workspace: Path) -> str:
        """The command to run: a relative path (`bin/server`) resolved in the server's own directory; a bare
        name is looked up on PATH, but never where a command could have planted it (the workspace's activated
        venv, the temp dirs, any workspace Duet let commands write in: see agent.gitsafe.helper_binary)."""
        assert self.command is not None
        if "/" in self.command and not Path(self.command).expanduser().is_absolute():
            return str(self.start_dir(workspace) / self.command)
        if self.command.startswith("~"):
            return str(Path(self.command).expanduser())
        if "/" in self.command:
            return self.command
        from agent.gitsafe import helper_binary

        # Not found outside those places: a name that fails to start, and says why in the server's error.
        return helper_binary(self.command, workspace) or f"{self.command} (not found outside the workspace)"

    def offers(self, tool: str) -> bool:
        """Is `tool` in the allow-list (or is there none)?"""
        return self.tools is None or tool in self.tools

    def approves(self, tool: str) -> bool:
        """May `tool` run without asking (outside read-only mode)?"""
        return "*" in self.approved_tools or tool in self.approved_tools

    def secrets(self) -> list[str]:
        """Values redacted however they look: every header value (and its part after `Bearer `), and the
        environment values whose names say secret (TOKEN, PASSWORD, PIN, ...)."""
        named = [v for k, v in self.env.items() if SECRET_ENV_NAME.search(k) or _PIN.search(k)]
        return [*named, *self.headers.values(), *(v.split(" ", 1)[-1] for v in self.headers.values())]

    def settings(self) -> list[str]:
        """Its other environment values: redacted only when they look like secrets (not `debug`, not a path)."""
        return [v for v in self.env.values() if v not in self.secrets()]
