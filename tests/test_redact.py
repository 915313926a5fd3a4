"""Redaction by value and by pattern, on real text."""

from __future__ import annotations

import base64
from pathlib import Path

from agent.redact import REDACTED, Redactor
from agent.redact.values import MIN_VALUE_CHARS, values_in_text
from tools.secret_files import SecretFiles

VALUE = "s3cr3t-Value-for-tests"


def test_values_are_found_in_every_secret_file_syntax() -> None:
    text = ("# comment\nexport A=valueOne-123\nB: 'valueTwo-456'\n[section]\nc = valueThree-789\n"
            "tokenWholeLine-0123456789\nmachine h login u password netrcPass-99\n"
            "h:5432:db:u:pgpassValue-1\nhttps://u:urlPass-777@host\n")
    found = values_in_text(text)
    assert {"valueOne-123", "valueTwo-456", "valueThree-789", "tokenWholeLine-0123456789", "netrcPass-99",
            "pgpassValue-1", "urlPass-777"} <= found
    assert values_in_text('{"a": {"b": ["jsonLeaf-12345"]}}') == {"jsonLeaf-12345"}


def test_short_and_common_values_are_not_collected_so_code_stays_readable() -> None:
    found = values_in_text("PORT=5432\nDEBUG=true\nUSER=admin\nNODE_ENV=development\nHOST=db.example.com\n"
                           "URL=https://example.com/api\nPATH_TO=/usr/local/bin\nIP=127.0.0.1\n")
    assert found == set()
    redact = Redactor.for_run(None, environ={})
    redact.add(["admin", "true", "development"])
    code = "if user == 'admin' and DEBUG is True:  # development\n"
    assert redact(code) == code
    assert len("admin") < MIN_VALUE_CHARS


def test_every_form_of_a_value_is_redacted() -> None:
    redact = Redactor([VALUE])
    stream = b"HOME=/root\x00KEY=" + VALUE.encode() + b"\x00PATH=/bin\x00"
    for prefix in (b"", b"x", b"xy"):  # the three alignments inside a base64 stream
        encoded = base64.b64encode(prefix + stream).decode()
        assert VALUE not in base64.b64decode(redact(encoded) + "==", validate=False).decode("latin-1")
    wrapped = base64.encodebytes(b"A" * 50 + stream * 3).decode()  # 76-column lines
    assert base64.b64encode(VALUE.encode()).decode()[:12] not in redact(wrapped).replace("\n", "")
    assert redact(f"url=https://x/?k={VALUE.replace('-', '%2D')}") != ""
    assert REDACTED in redact('{"k": "' + VALUE + '"}')
    assert VALUE not in redact("s3cr3t%2DValue%2Dfor%2Dtests".replace("%2D", "-"))


def test_patterns_catch_credentials_in_urls_and_assignments_but_not_code() -> None:
    redact = Redactor()
    text = ('DSN = "postgres://admin:pw@db/app"\npassword = "hunter2"\n  password: yamlpw\n[db]\npasswd = inipw\n'
            'password = request.form["password"]\nmax_tokens = 100\ntoken = None\nself.token = token\n')
    out = redact(text)
    assert "pw@" not in out and "hunter2" not in out and "yamlpw" not in out and "inipw" not in out
    assert "postgres://admin:[REDACTED]@db/app" in out
    for kept in ('request.form["password"]', "max_tokens = 100", "token = None", "self.token = token"):
        assert kept in out


def test_secret_file_list_is_real_globs_and_extendable() -> None:
    files = SecretFiles(["*.vault"])
    for name in (".env", ".envrc", ".env-production", ".env.local", ".git-credentials", "terraform.tfstate",
                 "x.tfstate.backup", "credentials", "credentials.json", "app-secrets.yaml", "id_rsa", "id_ed25519",
                 "a.pem", "a.key", "a.p12", "a.pfx", "a.jks", "a.kdbx", ".netrc", ".pgpass", ".npmrc", ".pypirc",
                 "deep/dir/.env", "team.vault"):
        assert files.match(name), name
    for name in (".env.example", "secrets.py", "id_utils.py", "environment.py", "README.md", "keys.go"):
        assert not files.match(name), name


def test_values_of_gitignored_secret_files_are_collected(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/.env.prod").write_text("X=deepValue-12345\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules/.env").write_text("Y=vendoredValue-12345\n")
    redact = Redactor.for_run(tmp_path, environ={"MY_TOKEN": "envToken-123456", "OTHER": "plain-value-1234"})
    assert redact("deepValue-12345 envToken-123456 plain-value-1234 vendoredValue-12345") == (
        f"{REDACTED} {REDACTED} plain-value-1234 vendoredValue-12345")
