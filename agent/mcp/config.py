"""One MCP server's configuration (`[mcp_servers.NAME]` in config.toml): stdio (`command`) or HTTP (`url`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class McpServerConfig(BaseModel):
    """How to start or reach one MCP server, and which of its tools the models get."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(default=None, description="Program started as a stdio server.")
    args: list[str] = Field(default_factory=list, description="Its arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Variables set for it, on top of a minimal "
                                "environment (HOME, PATH, USER, SHELL, TERM, LOGNAME): no API key leaks in.")
    cwd: str | None = Field(default=None, description="Its working directory (relative: to the workspace).")
    url: str | None = Field(default=None, description="Streamable HTTP endpoint.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers sent with every request.")
    tools: list[str] | None = Field(default=None, description="Only these of its tools (default: all).")
    approved_tools: list[str] = Field(default_factory=list, description="Its tools that run without asking in "
                                      "ask and auto-edit modes (`*`: all of them).")
    enabled: bool = Field(default=True, description="False leaves the server out.")
    startup_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for it to start and list tools.")
    tool_timeout_s: float = Field(default=60.0, gt=0, description="Longest wait for one tool call.")

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

    def offers(self, tool: str) -> bool:
        """Is `tool` in the allow-list (or is there none)?"""
        return self.tools is None or tool in self.tools

    def approves(self, tool: str) -> bool:
        """May `tool` run without asking (outside read-only mode)?"""
        return "*" in self.approved_tools or tool in self.approved_tools

    def secrets(self) -> list[str]:
        """Values the session must redact: its environment and header values (tokens, as a rule)."""
        return [*self.env.values(), *(v.split(" ", 1)[-1] for v in self.headers.values())]
