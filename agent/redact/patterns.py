"""Redaction by pattern: secret-looking strings whose values Duet was never told about."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

# (literal triggers, pattern): a pattern only runs on text holding one of its triggers, which keeps
# redacting a 36 MB repository fast.
TOKEN_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (("PRIVATE KEY",), re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)),
    (("sk-",), re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}")),          # OpenAI / DeepSeek style keys
    (("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),           # AWS access key ids
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),  # GitHub tokens
    (("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b")),
    (("xox",), re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}\b")),                 # Slack
    (("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),                       # Google API keys
    (("glpat-",), re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),                  # GitLab
    (("eyJ",), re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}")),  # JWTs
]

# Credentials in a URL (`postgres://admin:PASSWORD@host`, `redis://:PASSWORD@host`): the password goes, the
# scheme, user and host stay, so the model still sees what connects where.
URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]*:)(?P<secret>[^\s@/'\"]+)(?=@)")

# An assignment to a secret-named key, in code, YAML, INI, TOML, JSON or .env syntax. A quoted value of any
# length goes (a short `password = "hunter2"` is still a password); an unquoted one only when it is all that
# follows on the line and does not look like code (calls, attribute access, literals such as None or 0).
_SECRET_KEY = (r"[\w.\-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|"
               r"private[_\-]?key|secret[_\-]?key|client[_\-]?secret|auth[_\-]?key|credentials?)")
ASSIGNMENT = re.compile(
    r"(?im)(?P<key>(?<![\w.\-])" + _SECRET_KEY + r")(?P<close>['\"]?)(?P<sep>[ \t]*(?::|=(?!=)|:=)[ \t]*)"
    r"(?P<value>\"[^\"\n]+\"|'[^'\n]+'|[^\s'\"(){}\[\],;#=<>!]+(?=[ \t]*(?:#.*)?$))"
)
ASSIGNMENT_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "credential")
# Unquoted words after a secret-named key that are code or configuration, not secrets.
NOT_A_VALUE = re.compile(r"(?i)^(?:none|null|nil|true|false|undefined|yes|no|\d+|\$\{?\w+\}?|%\(\w+\)s|"
                         r"\[REDACTED\]|[\w]+\.[\w.]+|env|required|optional|string|str|bytes)$")


def _assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    if value[0] in "\"'":
        if value[1:-1] == REDACTED or not value[1:-1].strip():
            return match.group(0)
        value = value[0] + REDACTED + value[0]
    elif NOT_A_VALUE.match(value) or value == match.group("key").rsplit(".", 1)[-1]:  # `self.token = token`
        return match.group(0)
    else:
        value = REDACTED
    return match.group("key") + match.group("close") + match.group("sep") + value


def redact_patterns(text: str) -> str:
    """`text` with secret-looking tokens, URL credentials and secret assignments replaced by [REDACTED]."""
    for triggers, pattern in TOKEN_PATTERNS:
        if any(t in text for t in triggers):
            text = pattern.sub(REDACTED, text)
    if "://" in text:
        text = URL_CREDENTIALS.sub(lambda m: m.group("head") + REDACTED, text)
    lowered = text.lower()
    if any(t in lowered for t in ASSIGNMENT_TRIGGERS):
        text = ASSIGNMENT.sub(_assignment, text)
    return text
