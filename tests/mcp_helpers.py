"""Starting the real MCP fixture server (fixtures/mcp/server.py) for the MCP tests: stdio configs and a
streamable HTTP process on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SERVER = Path(__file__).resolve().parent.parent / "fixtures" / "mcp" / "server.py"


def stdio_server(marker: Path, **extra: Any) -> dict[str, Any]:
    """The config entry of the fixture server over stdio; each start appends its pid to `marker`."""
    return {"command": sys.executable, "args": [str(SERVER), "--marker", str(marker)], **extra}


def starts(marker: Path) -> list[int]:
    """The pids of the fixture servers started so far (none: the marker does not exist)."""
    return [int(line) for line in marker.read_text().split()] if marker.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@contextmanager
def http_server(marker: Path) -> Iterator[str]:
    """The fixture server serving streamable HTTP on 127.0.0.1 (a real process); yields its endpoint URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port), "--marker", str(marker)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        assert wait_until(listening), "the MCP HTTP fixture server did not start"
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


RAW_SERVER = SERVER.parent / "raw_server.py"


def raw_server(spec_dir: Path, tools: list[dict[str, Any]], marker: Path | None = None,
               **extra: Any) -> dict[str, Any]:
    """The config entry of the raw JSON-RPC fixture server (fixtures/mcp/raw_server.py) offering `tools`."""
    spec = spec_dir / "raw-spec.json"
    spec.write_text(json.dumps({"tools": tools, "marker": str(marker) if marker else None}))
    return {"command": sys.executable, "args": [str(RAW_SERVER), str(spec)], **extra}
