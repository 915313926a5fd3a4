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
    hexdump = (b"PATH=/bin\x00KEY=" + VALUE.encode()).hex()
    wrapped_hex = "\n".join(hexdump[i:i + 60] for i in range(0, len(hexdump), 60)) + "\n"  # `xxd -p`
    assert VALUE.encode().hex()[:20] not in redact(wrapped_hex).replace("\n", "")
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


async def test_compaction_summaries_are_redacted_before_they_are_kept_or_sent(repo: Path, fake_api) -> None:
    from agent.transcript import read_transcript
    from fixtures.fakeapi import Turn
    from tests.helpers import make_agent

    (repo / ".env").write_text(f"SERVICE_PASS={VALUE}\n")
    server = fake_api([Turn(content="one"), Turn(content="two"), Turn(content="three"),
                       Turn(content=f"The user set the service password to {VALUE}."), Turn(content="four")])
    agent, pool, _ = make_agent(repo, server.base_url)
    for task in ("first", "second", "third"):
        await agent.run(task)
    assert await agent.compact()
    await agent.run("fourth")
    await pool.aclose()
    agent.session.close()
    assert VALUE not in str(agent.session.messages) and REDACTED in agent.session.messages[0].content
    assert VALUE not in str(server.requests[-1]) and VALUE not in agent.session.transcript.path.read_text()
    assert any(e.type == "compacted" for e in read_transcript(agent.session.transcript.path))


def _mixed_corpus() -> list[str]:
    """Texts where every pattern, trigger and value form occurs, in every case and place a line can hold it."""
    value_b64 = base64.encodebytes(b"x" * 40 + VALUE.encode() * 4).decode()  # wrapped, 76 columns
    lines = [
        "api_key = 'sk-proj-abcdefghijklmnop1234'", "AWS=AKIAABCDEFGHIJKLMNOP", "t = 'ghp_" + "a" * 36 + "'",
        "github_pat_" + "b" * 45, "xoxb-1234567890-abc", "AIza" + "c" * 35, "glpat-" + "d" * 24,
        "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", "PASSWORD: hunter22", "\u212aEY = 'kelvin-sign'",
        "ſecret=longs-value", "client_secret := abc", "token = None", "my_token == 'x'", "apiKey: \"quoted\"",
        "x = key", "credentials = open()", "pwd=abc # comment", "db://user:pa55@host/x", "nothing here at all",
        VALUE, VALUE.encode().hex(), f'{{"v": "{VALUE}"}}', "-----BEGIN RSA PRIVATE KEY-----\nabc\n"
        "-----END RSA PRIVATE KEY-----",
    ]
    texts = ["\n".join(lines), "\r\n".join(lines) + "\r\n", value_b64, "head\n" + value_b64 + "tail\n",
             value_b64.replace("\n", "\r\n"), "\n".join(reversed(lines))]
    return texts + [text[cut:] for text in texts for cut in (1, 7, 40)]


def test_the_fast_search_and_the_plain_python_path_redact_alike(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """RE2 is only a pre-filter: with it (the default) and without it, every text comes out the same, and
    with 30 secret values (hundreds of forms) as with one."""
    import agent.redact as redact_module
    from agent.redact import fastsearch, patterns

    assert fastsearch.finder("x") is not None, "google-re2 is a dependency: the fast path must be in use"
    values = [VALUE] + [f"another-Secret-{i:02d}-value" for i in range(29)]
    corpus = _mixed_corpus() + [f"prefix {v} suffix\n" for v in values]
    fast = [Redactor(values)(text) for text in corpus]
    monkeypatch.setattr(patterns, "_candidate_search", lambda: None)
    monkeypatch.setattr(redact_module, "any_of", lambda _forms: None)
    monkeypatch.setattr(redact_module, "_may_hold_wrapped_run", lambda _text: True)
    plain = [Redactor(values)(text) for text in corpus]
    assert fast == plain
    assert sum(a != b for a, b in zip(corpus, fast, strict=True)) >= len(corpus) - 2  # the corpus is redacted
    assert all(value not in text for value in values for text in fast)


def test_review_regressions_dotless_i_other_line_breaks_many_values_and_surrogates(capfd) -> None:  # type: ignore[no-untyped-def]
    """Each of these once leaked a secret or raised: a keyword spelled with the Turkish dotless or dotted i
    (Python folds them to `i`, RE2 does not); a wrapped base64 secret whose lines break at `\\r`, a form feed or
    U+2028; a joined base64 run that hid a token's word boundary; three thousand secret values (a vendored CA
    bundle: one RE2 program would be over budget, and RE2 wrote to stderr); text and values with lone surrogates
    (RE2 reads UTF-8 only)."""
    secret = "Zq8vN3kW9pLx2Tr7Yc4Hm6Bd"
    redact = Redactor([secret])
    for line in ('apı_key = "s3cr3t-value"', 'PRİVATE_KEY = "s3cr3t-value"', 'credentıals = "s3cr3t-value"  # key'):
        assert "s3cr3t-value" not in redact(line + "\n")
    encoded = base64.b64encode(f"prefix-bytes-{secret}-suffix-bytes-{'x' * 27}".encode()).decode()
    first, second = encoded[:44], encoded[44:]
    for text in (f"cfg:\n{first}\r{second}\n}}\n", f"junk\x0c{first}\n{second}", f"x\u2028{first}\n{second}\n"):
        out = redact(text).replace("\n", "").replace("\r", "")
        assert not any(fragment in out for fragment in base64_fragments_of(secret))
    token = "ghp_" + "x" * 30 + "hunter2"
    assert "hunter2" not in redact(f"{base64.b64encode(('pre-' + secret + '-post').encode()).decode()}\r{token}")
    many = Redactor([f"MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa{i:05d}" for i in range(3000)])
    assert many("line MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa01234 end\n") == f"line {REDACTED} end\n"
    assert redact("ls: caf\udce9.txt password = 'hunter22'\n") == f"ls: caf\udce9.txt password = '{REDACTED}'\n"
    assert Redactor(["s3cr3t-\udce4-value"])("x s3cr3t-\udce4-value y") == f"x {REDACTED} y"
    assert capfd.readouterr().err == ""


def base64_fragments_of(value: str) -> set[str]:
    from agent.redact.forms import base64_fragments

    return base64_fragments(value.encode())
