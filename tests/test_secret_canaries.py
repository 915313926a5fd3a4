"""Canary secrets planted everywhere a secret lives; the installed `agent`, driven by a scripted model over real
HTTP, must let none of them (nor their base64) reach a request, the terminal or a transcript."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import GIT_ENV, git
from tests.e2e import agent_bin

# One canary per secret file name in the list; each is unique so a leak names its path.
SECRET_FILES = {
    ".env": "API_TOKEN=cnry-env-0001-Qx7\n",
    ".env.local": "LOCAL_ONLY=cnry-envlocal-0002-Qx7\n",
    ".env-production": "DB_PASS='cnry-envprod-0003-Qx7'\n",
    ".envrc": "export SOME_THING=cnry-envrc-0004-Qx7\n",
    ".netrc": "machine example.com login bob password cnry-netrc-0005-Qx7\n",
    ".pgpass": "localhost:5432:app:bob:cnry-pgpass-0006-Qx7\n",
    ".npmrc": "//registry.npmjs.org/:_authToken=cnry-npmrc-0007-Qx7\n",
    ".pypirc": "[pypi]\nusername = __token__\npassword = cnry-pypirc-0008-Qx7\n",
    ".git-credentials": "https://bob:cnry-gitcred-0009-Qx7@github.com\n",
    "terraform.tfstate": json.dumps({"resources": [{"instances": [{"attributes": {
        "password": "cnry-tfstate-0010-Qx7"}}]}]}),
    "prod.tfstate.backup": '{"outputs": {"db": {"value": "cnry-tfbackup-0011-Qx7"}}}',
    "credentials": "[default]\naws_secret_access_key = cnry-awscreds-0012-Qx7\n",
    "config/credentials.json": '{"client_secret": "cnry-credjson-0013-Qx7"}',
    "config/app-secrets.yaml": "stripe: cnry-secretyaml-0014-Qx7\n",
    "deploy/id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\ncnryIdRsa0015Qx7b3BlbnNzaC1rZXktdjEAAAAA\n"
                     "-----END OPENSSH PRIVATE KEY-----\n",
    "deploy/id_ed25519": "cnryIdEd0016Qx7AAAAC3NzaC1lZDI1NTE5\n",
    "tls/server.pem": "-----BEGIN CERTIFICATE-----\ncnryPem0017Qx7MIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----\n",
    "tls/server.key": "cnryKey0018Qx7MIIEvQIBADANBgkqhkiG9w0\n",
    "tls/client.p12": "cnryP12-0019-Qx7\n",
    "tls/client.pfx": "cnryPfx-0020-Qx7\n",
    "keys/store.jks": "cnryJks-0021-Qx7\n",
    "keys/vault.kdbx": "cnryKdbx-0022-Qx7\n",
    "extra/team.vault": "cnry-configured-0023-Qx7\n",  # only secret because the config says so
}
SOURCE_FILES = {
    "app/db.py": 'DSN = "postgres://admin:cnry-srcurl-0101-Qx7@db.internal/app"\npassword = "cn0102Qx"\n\n'
                 "def connect(url=DSN):\n    return url\n",
    "config/settings.yaml": "database:\n  host: db.internal\n  password: cnry-yaml-0103-Qx7\n",
    "config/app.ini": "[db]\npasswd = cnry-ini-0104-Qx7\n",
}
AGENTS_MD = ("# Notes\nRelease with ghp_cnryAgents0201Qx7abcdefghijklmnopqrstu\n"
             "deploy_password: cnry-agents-0202-Qx7\n")
ENVIRONMENT = {
    "DATABASE_URL": "postgres://admin:cnry-envurl-0301-Qx7@db.internal:5432/app",
    "GITHUB_TOKEN": "cnry-envtoken-0302-Qx7",
    "PAYMENTS_API_TOKEN": "cnry-envtoken2-0303-Qx7",
    "DEEPSEEK_API_KEY": "cnry-deepseek-key-0401-Qx7",
    "OPENAI_API_KEY": "cnry-openai-key-0402-Qx7",
}
CANARY = re.compile(r"cnry[\w\-]*?\d{4}-?Qx7|cn0102Qx")
CANARIES = sorted({m.group(0) for text in [*SECRET_FILES.values(), *SOURCE_FILES.values(), AGENTS_MD,
                                            *ENVIRONMENT.values()] for m in CANARY.finditer(text)})
B64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{12,}(?:\\n|\n)?(?:[A-Za-z0-9+/_\-]{4,}(?:\\n|\n)?)*")


def leaks(text: str) -> set[str]:
    """Canaries in `text`, as they are or base64-encoded at any alignment (lines of a wrapped stream joined)."""
    found = {c for c in CANARIES if c in text}
    for run in B64_RUN.finditer(text):
        joined = re.sub(r"\\n|\n", "", run.group(0))
        for start in range(4):
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                chunk = joined[start:]
                chunk = chunk[: len(chunk) - len(chunk) % 4]
                try:
                    decoded = decode(chunk).decode("latin-1")
                except (binascii.Error, ValueError):
                    continue
                found |= {c for c in CANARIES if c in decoded}
    return found


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    for name, text in {**SECRET_FILES, **SOURCE_FILES, "AGENTS.md": AGENTS_MD}.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    (work / ".gitignore").write_text(".env*\n.envrc\n*.tfstate*\ndeploy/\ntls/\n")
    (work / ".duet").mkdir()
    (work / ".duet/config.toml").write_text('secret_files = ["*.vault"]\n[retry]\nmax_retries = 1\n')
    git(work.parent, "init", "-q", "-b", "main", str(work))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "planted")
    return work


def run(work: Path, base_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update({**GIT_ENV, **ENVIRONMENT, "DEEPSEEK_BASE_URL": base_url, "OPENAI_BASE_URL": base_url})
    return subprocess.run([agent_bin(), "run", "look around", "--approval", "full-auto", *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=180)


READS = [ScriptedCall(name="read_file", arguments={"path": p}) for p in [*SECRET_FILES, *SOURCE_FILES, "AGENTS.md"]]
COMMANDS = ["cat " + " ".join(SECRET_FILES) + " " + " ".join(SOURCE_FILES) + " AGENTS.md",
            "grep -r cnry . ; grep -rh Qx7 --include='*' .",
            "env", "cat /proc/$PPID/environ", "base64 /proc/$PPID/environ", "base64 -w0 /proc/$PPID/environ",
            "tail -c +7 /proc/$PPID/environ | base64 -w0", "tail -c +8 /proc/$PPID/environ | base64 -w0",
            "cat .env | base64", "python3 -c 'import os; print(os.environ)'"]
SHELLS = [ScriptedCall(name="shell", arguments={"command": c}) for c in COMMANDS]
SEARCHES = [ScriptedCall(name="search", arguments={"pattern": "cnry|Qx7"}),
            ScriptedCall(name="search", arguments={"pattern": "password", "ignore_case": True}),
            ScriptedCall(name="list_files")]


def assert_nothing_leaked(work: Path, server, result: subprocess.CompletedProcess[str]) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    assert server.requests, "the run made no request"
    for i, request in enumerate(server.requests):
        # Chat Completions messages, or Responses input items and instructions
        items = request.get("messages") or [*request.get("input", []), {"content": request.get("instructions")}]
        for message in items:
            content = str(message.get("content") or message.get("output"))
            assert not leaks(content), f"request {i} leaked {leaks(content)} in {content[:3000]}"
        assert not leaks(json.dumps(request)), f"request {i} leaked {leaks(json.dumps(request))}"
    assert not leaks(result.stdout + result.stderr), "the terminal output leaked"
    transcripts = [p for base in (work, Path(os.environ["HOME"])) for p in base.rglob("*.jsonl")]
    transcripts += list((work / ".git").rglob("*.jsonl"))
    assert transcripts
    for path in transcripts:
        assert not leaks(path.read_text()), f"{path} leaked"


def test_no_canary_reaches_a_request_through_pack_tools_or_shell(planted: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=READS), Turn(tool_calls=SEARCHES), Turn(tool_calls=SHELLS),
                       Turn(content="done")])
    result = run(planted, server.base_url, "--model", "deepseek-v4-pro", "--output", "stream-json")
    assert_nothing_leaked(planted, server, result)
    system = server.requests[0]["messages"][0]["content"]
    assert '<file path="app/db.py">' in system  # the pack went out (redacted), the secret files did not
    assert "postgres://admin:[REDACTED]@db.internal/app" in system
    assert not any(f'<file path="{name}">' in system for name in SECRET_FILES)
    shell_results = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert any("[REDACTED]" in r for r in shell_results)


def test_no_canary_reaches_a_request_through_the_repo_map(planted: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[READS[-2], SEARCHES[0]]), Turn(content="done")])
    result = run(planted, server.base_url, "--model", "gpt-5.5", "--output", "text")
    assert_nothing_leaked(planted, server, result)
    assert "<repo_map" in server.requests[0]["instructions"]  # GPT-5.5 goes through the Responses API
