"""Shared fixtures: the fake API over real HTTP, temporary git workspaces, and a loopback-only network."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from agent.config import Config, load_config
from fixtures.fakeapi import FakeAPI, Turn

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@localhost"}
TEST_KEY = "sk-test-0123456789abcdef0123"


@pytest.fixture(autouse=True)
def exclusive_when_marked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under pytest-xdist, a test marked `exclusive` (it counts the machine's processes, or bounds a fork bomb)
    runs while no other worker runs a test: it holds an exclusive lock every other test holds shared. A turnstile
    lock keeps the shared holders from starving it. Without xdist there is one process and the locks are free."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        yield
        return
    shared_dir = tmp_path_factory.getbasetemp().parent  # the same for every worker of this run
    exclusive = request.node.get_closest_marker("exclusive") is not None
    with ExitStack() as stack:
        turnstile = stack.enter_context(open(shared_dir / "duet-tests.turnstile", "a"))
        room = stack.enter_context(open(shared_dir / "duet-tests.lock", "a"))
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(room, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(room, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches beyond loopback: any other connection fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config from the machine running the tests leaks in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    for var in ("DEEPSEEK_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_BASE_URL", "OPENAI_BASE_URL", "DUET_MODEL",
                "DUET_ROUTE", "DUET_APPROVAL", "DUET_MAX_COST"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def fake_api() -> Iterator[Callable[..., FakeAPI]]:
    """Start fake servers playing the given turns; all are stopped after the test."""
    servers: list[FakeAPI] = []

    def start(turns: list[Turn] | None = None, **kwargs: object) -> FakeAPI:
        server = FakeAPI(turns or [], **kwargs).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("hello\n")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


def make_config(workspace: Path, base_url: str, **overrides: object) -> Config:
    """Configuration pointing every provider at the fake server, with fast retries."""
    env = {"DEEPSEEK_BASE_URL": base_url, "OPENAI_BASE_URL": base_url, "HOME": str(workspace / ".home")}
    config = load_config(workspace, overrides, env)
    config.retry.backoff_base_s = 0.01
    config.retry.backoff_cap_s = 0.05
    return config


KEYS = {"DEEPSEEK_API_KEY": TEST_KEY, "OPENAI_API_KEY": TEST_KEY}
