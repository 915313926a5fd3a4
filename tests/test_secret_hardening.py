"""Secrets against the red-team findings: environment names, secret files in the workspace, hex dumps, output
cut before redaction, and an untrusted project remapping models. Real processes, real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.redact import Redactor
from agent.sandbox.landlock import abi_version
from agent.session import Session
from tests.conftest import make_config
from tools.secret_files import SecretFiles
from tools.shell import ShellArgs, ShellTool

needs_landlock = pytest.mark.skipif(abi_version() < 1, reason="this kernel has no Landlock")
VALUE = "EnvCanary-Value-12345"


async def sh(session: Session, command: str) -> str:
    result = await ShellTool().run(ShellArgs(command=command, timeout_s=60), session.tool_context)
    return result.output


@needs_landlock
async def test_secret_env_names_and_configured_key_variables_never_reach_commands(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leaks = {"DB_PASS": "DbPassCanary-4242", "SLACK_WEBHOOK_URL": "https://hooks.example/T0/B0/WebhookCanary77",
             "MYSQL_PWD": "MysqlPwdCanary99", "LLM_PROVIDER_VAR": "sk-provider-canary-0000111122223333"}
    for name, value in leaks.items():
        monkeypatch.setenv(name, value)
    config = make_config(repo, "http://127.0.0.1:9", approval="full-auto",
                         providers={"deepseek": {"api_key_env": "LLM_PROVIDER_VAR"}})
    session = Session(repo, config)
    output = await sh(session, "env; echo cwd=$PWD")
    session.close()
    for name, value in leaks.items():
        assert name not in output and value not in output, name
    assert f"cwd={repo}" in output


@needs_landlock
async def test_workspace_secret_files_are_unreadable_to_commands_unless_opted_in(repo: Path) -> None:
    (repo / ".env").write_text(f"DB_PASSWORD={VALUE}\n")
    (repo / "src").mkdir()
    (repo / "src/credentials.json").write_text('{"token": "JsonCanary-987654"}\n')
    session = Session(repo, make_config(repo, "http://127.0.0.1:9", approval="full-auto"))
    output = await sh(session, "cat .env; xxd .env; od -c src/credentials.json; rev .env; cat README.md")
    session.close()
    assert "Permission denied" in output and "hello" in output
    for fragment in ("EnvCanary", "Canary-Va", "456789", "4456", "y-V"):
        assert fragment not in output, fragment
    opted = Session(repo, make_config(repo, "http://127.0.0.1:9", approval="full-auto",
                                      sandbox={"read_secret_files": True}))
    output = await sh(opted, "grep -c DB_PASSWORD .env")
    opted.close()
    assert output.startswith("1"), output


def test_hex_dumps_of_secret_values_are_redacted(repo: Path) -> None:
    (repo / ".env").write_text(f"DB_PASSWORD={VALUE}\n")
    redact = Redactor.for_run(repo, SecretFiles())
    hexed = f"DB_PASSWORD={VALUE}\n".encode().hex()
    wrapped = "\n".join(hexed[i:i + 60] for i in range(0, len(hexed), 60))  # `xxd -p` wraps at 60
    for text in (hexed, hexed.upper(), wrapped):
        assert VALUE.encode().hex() not in redact(text).replace("\n", "").lower()


@needs_landlock
async def test_output_is_redacted_before_it_is_cut(repo: Path) -> None:
    (repo / ".env").write_text(f"DB_PASSWORD={VALUE}\n")
    session = Session(repo, make_config(repo, "http://127.0.0.1:9", approval="full-auto",
                                        sandbox={"read_secret_files": True}))
    # the value starts 15 characters before the end of the kept head, so a cut would keep "EnvCanary-Value"
    output = await sh(session, "python3 -c \"v = open('.env').read().split('=')[1].strip(); "
                               "print('x' * 14985 + v + 'y' * 30000)\"")
    session.close()
    assert "cut from the middle" in output
    assert "EnvCanary-Value" not in output and "EnvCanary" not in output


def test_untrusted_project_cannot_remap_or_add_models(repo: Path, tmp_path: Path) -> None:
    (repo / ".duet").mkdir()
    (repo / ".duet/config.toml").write_text(
        '[models.deepseek-v4-flash]\nprovider = "openai"\napi_model = "gpt-5.5-pro"\nimages = true\n'
        'context_window = 64000\n\n[models.sneaky]\nprovider = "openai"\napi_model = "gpt-5.5-pro"\n'
        'context_window = 1000\nmax_output_tokens = 100\n')
    env = {"HOME": str(tmp_path / "home")}
    config = load_config(repo, {}, env)
    flash = config.models["deepseek-v4-flash"]
    assert flash.provider == "deepseek" and flash.api_model != "gpt-5.5-pro" and not flash.images
    assert flash.max_output_tokens <= 384_000  # output limits still only tighten
    # A smaller window is no tightening (it routes the conversation to the longest-window, dearest model): ignored.
    assert flash.context_window == 1_000_000
    assert any("models.deepseek-v4-flash.context_window" in w for w in config.warnings)
    assert "sneaky" not in config.models
    assert any("models.sneaky" in w and "models.deepseek-v4-flash.provider" in w for w in config.warnings)
