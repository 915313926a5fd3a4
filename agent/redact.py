"""Removing secrets from anything Duet stores or shows: transcripts, logs, error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}"),          # OpenAI / DeepSeek / Anthropic style keys
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),                     # AWS access key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),                    # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}\b"),                 # Slack
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),                         # Google API keys
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),                      # GitLab
    re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),  # JWTs
    re.compile(r"(?i)\b(aws_secret_access_key|api[_-]?key|secret|token|password)\b(\s*[:=]\s*)"
               r"['\"]?([A-Za-z0-9/+_\-]{16,})"),
]
KEY_VARIABLE = re.compile(r"(API_KEY|SECRET|TOKEN|PASSWORD)", re.I)
REDACTED = "[REDACTED]"


class Redactor:
    """Replaces known secret values (the API keys in the environment) and secret-looking strings."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known = sorted({k for k in known if len(k) >= 8}, key=len, reverse=True)

    @classmethod
    def from_environ(cls) -> Redactor:
        return cls(v for k, v in os.environ.items() if KEY_VARIABLE.search(k))

    def __call__(self, text: str) -> str:
        for value in self._known:
            text = text.replace(value, REDACTED)
        for pattern in SECRET_PATTERNS:
            if pattern.groups >= 3:
                text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
            else:
                text = pattern.sub(REDACTED, text)
        return text
