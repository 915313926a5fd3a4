"""Removing secrets from anything Duet stores or shows: transcripts, logs, error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from tools.workspace import SECRET_ENV_NAME

# (literal triggers, pattern): a pattern only runs on text holding one of its triggers, which keeps
# redacting a 36 MB repository fast. Triggers of the keyword pattern are matched on lowercased text.
SECRET_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
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
KEYWORD_TRIGGERS = ("key", "secret", "token", "password")
KEYWORD_PATTERN = re.compile(r"(?i)\b(aws_secret_access_key|api[_-]?key|secret|token|password)\b(\s*[:=]\s*['\"]?)"
                             r"([A-Za-z0-9/+_\-]{16,})")
REDACTED = "[REDACTED]"


class Redactor:
    """Replaces known secret values (the API keys in the environment) and secret-looking strings."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known = sorted({k for k in known if len(k) >= 8}, key=len, reverse=True)

    @classmethod
    def from_environ(cls) -> Redactor:
        return cls(v for k, v in os.environ.items() if SECRET_ENV_NAME.search(k))

    def __call__(self, text: str) -> str:
        for value in self._known:
            if value in text:
                text = text.replace(value, REDACTED)
        for triggers, pattern in SECRET_PATTERNS:
            if any(t in text for t in triggers):
                text = pattern.sub(REDACTED, text)
        lowered = text.lower()
        if any(t in lowered for t in KEYWORD_TRIGGERS):
            text = KEYWORD_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        return text
