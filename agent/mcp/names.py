"""Wire names of MCP tools: `mcp__<server>__<tool>`, within the providers' rule `^[a-zA-Z0-9_-]{1,64}$`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection

MAX_NAME = 64
MAX_TOOLS = 128  # tools one request may carry (OpenAI's and DeepSeek's limit), the built-ins included
PREFIX = "mcp__"
_BAD = re.compile(r"[^a-zA-Z0-9_-]")
_HASH = 6


def wire_name(server: str, tool: str, taken: Collection[str] = ()) -> str:
    """`mcp__<server>__<tool>` with other characters as `_`; when that is too long or already taken, cut and
    suffixed with a short hash of the original pair, so two tools never share a name."""
    clean = f"{PREFIX}{_BAD.sub('_', server)}__{_BAD.sub('_', tool)}"
    if len(clean) <= MAX_NAME and clean not in taken:
        return clean
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()
    for extra in range(len(digest) - _HASH + 1):  # a collision of the hash itself moves along the digest
        name = f"{clean[:MAX_NAME - _HASH - 1]}_{digest[extra:extra + _HASH]}"
        if name not in taken:
            return name
    raise ValueError(f"no free tool name for {server}/{tool}")
