"""Every MCP server of a session, owned by one thread with its own event loop.

The SDK is anyio-based and a client session must be entered and left in one task, so each server lives in one
supervising task of this loop for its whole life (start, restart once, stop). Callers on any other loop (the
headless run's, the TUI's) reach it through `run_coroutine_threadsafe`, awaited with `asyncio.wrap_future`.
Notices (a server that failed or died) are queued here and handed to the caller's loop, which emits them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

from agent.mcp.config import McpServerConfig

Status = Literal["starting", "ready", "restarting", "failed", "stopped"]
T = TypeVar("T")
CLOSE_TIMEOUT_S = 15.0  # the SDK's own stop sequence takes at most ~6 s per stdio server
MAX_DEATHS = 2  # a server that stops mid-session is started once more; stopped again, it is left out
PING_EVERY_S = 10.0  # how often an idle server is checked, so one that died is restarted before it is needed
PING_TIMEOUT_S = 30.0  # a slow answer is not a death (a server may answer one request at a time)
PROBE_TIMEOUT_S = 5.0  # after an error with the SDK's "connection closed" code: is the connection really gone?


class McpCallError(Exception):
    """A call that did not reach a result (server unavailable, stopped mid-call, no answer in time)."""


class _Reported(Exception):
    """A start that failed and was already reported (before the SDK's teardown, which may take seconds)."""


@dataclass
class ServerState:
    """What one server is doing now, as the manager's loop last saw it."""

    name: str
    config: McpServerConfig
    status: Status = "starting"
    error: str = ""
    tools: list[Any] = field(default_factory=list)
    """The SDK's tool entries the models are offered (after the config's allow-list)."""
    starts: int = 0
    session: Any = None
    died: asyncio.Event | None = None
    lost: str = ""
    """Why the connection was given up while the process may still run (a message that could not be read)."""


class McpManager:
    """Starts the configured servers in the background; lists their tools; calls them; stops them all."""

    def __init__(self, servers: Mapping[str, McpServerConfig], workspace: Path,
                 notify: Callable[[str], None] = lambda _text: None, ping_every_s: float = PING_EVERY_S) -> None:
        self.servers = {name: ServerState(name, cfg) for name, cfg in servers.items() if cfg.enabled}
        self._workspace = workspace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._settled: dict[str, asyncio.Event] = {}
        self._stop: asyncio.Event | None = None
        self._notices: list[str] = []
        self._lock = threading.Lock()
        self._notify = notify
        self._ping_every_s = ping_every_s

    def start(self) -> None:
        """Start every server in the background (returns at once)."""
        if self._thread is not None or not self.servers:
            return
        quiet = logging.getLogger("mcp")  # the SDK's tracebacks would garble the terminal (and the TUI)
        if not any(isinstance(h, logging.NullHandler) for h in quiet.handlers):
            quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, args=(ready,), name="duet-mcp", daemon=True)
        self._thread.start()
        ready.wait()

    def _run_loop(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._stop = asyncio.Event()
        for name in self.servers:
            self._settled[name] = asyncio.Event()
            self._tasks[name] = loop.create_task(self._supervise(self.servers[name]))
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _in_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the manager's loop and await it from the caller's loop (cancelling it with the caller)."""
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def flush_notices(self) -> None:
        """Say the notices queued since the last flush, on the caller's loop (each said once)."""
        with self._lock:
            out, self._notices = self._notices, []
        for text in out:
            self._notify(text)

    def _notice(self, text: str) -> None:
        with self._lock:
            self._notices.append(text)

    async def wait_started(self) -> None:
        """Until every server is ready or has failed (each bounded by its startup_timeout_s)."""
        if self._loop is not None:
            await self._in_loop(self._all_settled())
        self.flush_notices()

    async def _all_settled(self) -> None:
        for event in self._settled.values():
            await event.wait()

    async def _supervise(self, state: ServerState) -> None:
        try:
            await self._lives(state)
        finally:
            self._settled[state.name].set()  # whatever happened, no one waits for this server any longer

    async def _lives(self, state: ServerState) -> None:
        deaths = 0
        while True:
            state.starts += 1
            state.died = died = asyncio.Event()
            state.lost = ""
            with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
                try:
                    stopping = await self._serve(state, died, errlog)
                except _Reported:
                    return
                except Exception as exc:  # the SDK's errors come as groups, OS errors, timeouts
                    self._failed(state, exc, errlog)
                    return
            state.session = None
            if stopping:
                state.status = "stopped"
                return
            deaths += 1
            if deaths >= MAX_DEATHS:
                state.status, state.error = "failed", "stopped twice during the session"
                self._notice(f"MCP server {state.name} stopped again; its tools are left out for this session")
                return
            state.status = "restarting"
            why = f" ({state.lost})" if state.lost else ""
            self._notice(f"MCP server {state.name} stopped{why}; restarting it once")

    def _failed(self, state: ServerState, exc: BaseException, errlog: TextIO) -> None:
        """A start that failed: said once, and no one waits for the server any longer."""
        state.status, state.session, state.error = "failed", None, _reason(exc, errlog)
        what = "failed to start" if state.starts == 1 else "could not be restarted"
        self._notice(f"MCP server {state.name} {what}: {state.error}; its tools are left out")
        self._settled[state.name].set()

    async def _serve(self, state: ServerState, died: asyncio.Event, errlog: TextIO) -> bool:
        """One life of a server: True when the session is ending, False when the server died."""
        assert self._stop is not None
        cfg = state.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cfg.startup_timeout_s  # loading the SDK counts too: the first prompt waits

        async def fault(exc: Exception) -> None:
            lost = _lost_message(exc)
            errlog.write(f"duet: {'lost' if lost else 'ignored'}: {_one_line(exc)[:300]}\n")
            if lost and not died.is_set():
                state.lost = "it sent a message that could not be read"
                died.set()

        late = TimeoutError(f"no answer within {cfg.startup_timeout_s:g} s (startup_timeout_s)")
        # Said and settled when the time is up: the cancelled start then stops the process inside the SDK,
        # which may take seconds no one should wait for.
        said: list[bool] = []

        def too_late() -> None:
            said.append(True)
            self._failed(state, late, errlog)

        watchdog = loop.call_at(deadline, too_late)
        from agent.mcp.connection import connect, list_tools  # the SDK loads on the manager's thread only

        async with contextlib.AsyncExitStack() as stack:
            try:
                async with asyncio.timeout_at(deadline):
                    session = await stack.enter_async_context(connect(cfg, self._workspace, errlog, fault))
                    tools = await list_tools(session)
            except Exception as exc:
                if not said:
                    self._failed(state, late if isinstance(exc, TimeoutError) else exc, errlog)
                raise _Reported from None
            finally:
                watchdog.cancel()
            if state.starts == 1:
                state.tools = [t for t in tools if cfg.offers(t.name)]
            state.session, state.status, state.error = session, "ready", ""
            self._settled[state.name].set()
            waits = {asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(died.wait()),
                     asyncio.ensure_future(_watch(session, died, self._ping_every_s))}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            state.session = None
            if not self._stop.is_set():
                state.status = "restarting"
            return self._stop.is_set()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> Any:
        """The server's `CallToolResult`, or McpCallError with a message for the model."""
        try:
            return await self._in_loop(self._call(server, tool, arguments))
        finally:
            self.flush_notices()

    async def _call(self, server: str, tool: str, arguments: dict[str, Any]) -> Any:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED

        state = self.servers[server]
        session, died = state.session, state.died
        if state.status != "ready" or session is None or died is None:
            why = {"restarting": "is restarting after it stopped; try again shortly",
                   "starting": "is still starting; try again shortly"}.get(state.status, "is not available "
                                                                            f"({state.error or state.status})")
            raise McpCallError(f"MCP server {server} {why}")
        timeout = state.config.tool_timeout_s
        call = asyncio.ensure_future(session.call_tool(tool, arguments))
        gone = asyncio.ensure_future(died.wait())
        try:
            async with asyncio.timeout(timeout):
                await asyncio.wait({call, gone}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            raise McpCallError(f"{server} gave no answer within {timeout:g} s (tool_timeout_s)") from None
        finally:
            answered = call.done()
            gone.cancel()
            if not answered:
                call.cancel()
        error: BaseException | str
        if not answered:  # the connection was given up while we waited
            error = state.lost or "connection lost"
        else:
            try:
                return call.result()
            except MCPError as exc:
                # -32000 is also the code of any server's generic error: only a closed connection is a death.
                if exc.error.code != CONNECTION_CLOSED or not await _connection_closed(session):
                    raise McpCallError(f"{server}: {exc.error.message}") from None
                error = exc
            except Exception as exc:  # the transport broke (HTTP server gone, pipe closed)
                error = exc
        if state.died is died and not died.is_set():
            state.status = "restarting"
            died.set()
        why = error if isinstance(error, str) else _one_line(error)
        raise McpCallError(f"MCP server {server} stopped during the call ({why}); it is being restarted once")

    async def aclose(self) -> None:
        """Stop every server (stdio processes ended, HTTP sessions closed) and the manager's thread."""
        if self._loop is None or self._thread is None:
            return
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """The blocking form of `aclose`, for code without an event loop."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(CLOSE_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CLOSE_TIMEOUT_S)

    async def _shutdown(self) -> None:
        assert self._stop is not None
        self._stop.set()
        for name, task in self._tasks.items():
            if self.servers[name].status in ("starting", "restarting"):
                task.cancel()  # still starting: leaving its block stops it just the same
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for state in self.servers.values():
            if state.status != "failed":
                state.status = "stopped"


async def _watch(session: Any, died: asyncio.Event, every_s: float) -> None:
    """Ping the server now and then; a closed connection (a stdio server that exited, an HTTP server gone) is
    a death. A ping that is merely slow, or answered with an error, is not."""
    from mcp import MCPError
    from mcp.types import CONNECTION_CLOSED

    while True:
        await asyncio.sleep(every_s)
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                await session.send_ping()
        except TimeoutError:
            continue
        except MCPError as exc:
            if exc.error.code == CONNECTION_CLOSED:
                died.set()
                return
        except Exception:  # the transport's own error
            died.set()
            return


async def _connection_closed(session: Any) -> bool:
    """Is the connection gone (a ping fails at once with "connection closed"), not merely the server erring?"""
    from mcp import MCPError
    from mcp.types import CONNECTION_CLOSED

    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await session.send_ping()
    except TimeoutError:
        return False
    except MCPError as exc:
        return exc.error.code == CONNECTION_CLOSED
    except Exception:
        return True
    return False


def _lost_message(exc: Exception) -> bool:
    """Did a transport error lose a message (a JSON line that could not be read: an answer someone waits
    for), rather than skip noise (a log line printed to stdout)?"""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return True  # the stream itself broke
    try:
        first = errors()[0]
    except Exception:
        return True
    text = first.get("input")
    return not (first.get("type") == "json_invalid" and isinstance(text, str) and not text.lstrip().startswith("{"))


def _one_line(exc: BaseException) -> str:
    """The innermost message of an exception (groups unwrapped), on one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()
    return text[0] if text and text[0] else type(exc).__name__


def _reason(exc: BaseException, errlog: TextIO) -> str:
    """Why a server could not start: the error, and the last line it wrote to stderr (if any)."""
    reason = _one_line(exc)
    if reason == "Connection closed":  # the SDK's words when a stdio server exits before answering
        reason = "the server exited before it answered"
    errlog.flush()
    errlog.seek(0)
    lines = [line.strip() for line in errlog.read()[-4000:].splitlines() if line.strip()]
    return f"{reason} (stderr: {lines[-1][:300]})" if lines else reason

