"""Redaction by pattern: secret-looking strings whose values Duet was never told about."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from agent.redact.fastsearch import finder

REDACTED = "[REDACTED]"

# (literal triggers, pattern): a pattern only runs on lines holding one of its triggers, which keeps
# redacting a 36 MB repository fast.
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)
TOKEN_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str]]] = [  # each within one line
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
# scheme, user and host stay, so the model still sees what connects where. (Anchored on the literal `://`, which
# the regex engine finds fast.)
URL_CREDENTIALS = re.compile(r"(?P<head>://[^\s:/@'\"]*:)(?P<secret>[^\s@/'\"]+)(?=@)")

# An assignment to a secret-named key, in code, YAML, INI, TOML, JSON or .env syntax: the key ends in one of the
# words below (`DB_PASSWORD`, `client_secret`, `"api_key"`). A quoted value of any length goes (a short
# `password = "hunter2"` is still a password); an unquoted one only when it is all that follows on the line and
# does not look like code (calls, attribute access, literals such as None or 0). Anchored on the keyword.
KEYWORDS = (r"password|passwd|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|"
            r"secret[_\-]?key|auth[_\-]?key|credentials?")
ASSIGNMENT = re.compile(
    rf"(?i)(?P<kw>{KEYWORDS})(?P<close>['\"]?)(?P<sep>[ \t]*(?::|=(?!=)|:=)[ \t]*)"
    r"(?P<value>\"[^\"\n]+\"|'[^'\n]+'|[^\s'\"(){}\[\],;#=<>!]+(?=[ \t]*(?:#[^\n]*)?$))", re.M)
ASSIGNMENT_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "credential")
# Unquoted words after a secret-named key that are code or configuration, not secrets.
NOT_A_VALUE = re.compile(r"(?i)^(?:none|null|nil|true|false|undefined|yes|no|\d+|\$\{?\w+\}?|%\(\w+\)s|"
                         r"\[REDACTED\]|[\w]+\.[\w.]+|env|required|optional|string|str|bytes)$")
_WORD_BEFORE = re.compile(r"[\w\-]*$")


def _assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    if value[0] in "\"'":
        if value[1:-1] == REDACTED or not value[1:-1].strip():
            return match.group(0)
        value = value[0] + REDACTED + value[0]
    else:
        before = match.string[max(match.start() - 80, 0):match.start()]
        key = _WORD_BEFORE.search(before).group(0) + match.group("kw")  # type: ignore[union-attr]
        if NOT_A_VALUE.match(value) or value == key:  # `self.token = token`
            return match.group(0)
        value = REDACTED
    return match.group("kw") + match.group("close") + match.group("sep") + value


# Every place a token or assignment pattern could match: a token's literal trigger, or a secret keyword followed
# by an assignment's separator (a superset of ASSIGNMENT's matches). RE2 finds them all in one pass over a packed
# repository (80 ms for Django's 34 MB, against 600 ms for a str.find per trigger); Python's `re` runs the same
# pattern where RE2 cannot. The two engines fold case alike except for the Turkish dotless and dotted i, which
# Python matches to `i` and RE2 does not: they are spelled out.
_CANDIDATES = ("|".join(re.escape(t) for triggers, _ in TOKEN_PATTERNS for t in triggers)
               + "|(?i:(?:" + KEYWORDS.replace("i", "[i\u0131\u0130]") + ")['\"]?[ \t]*[:=])")


@functools.cache
def _candidate_search() -> Callable[[str], list[int] | None] | None:
    return finder(_CANDIDATES)  # compiled on first use, not at import


@functools.cache
def _candidate_regex() -> re.Pattern[str]:
    return re.compile(_CANDIDATES)


def candidate_lines(text: str) -> list[int]:
    """Offsets of the lines where a token or assignment pattern may match, in order."""
    search = _candidate_search()
    positions = search(text) if search is not None else None
    if positions is None:  # no RE2, or a text it cannot read: the same pattern in Python
        positions = [match.start() for match in _candidate_regex().finditer(text)]
    starts: list[int] = []
    line_end = -1
    for pos in positions:
        if pos < line_end:
            continue  # this line is in already
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        line_end = len(text) if end == -1 else end
        starts.append(start)
    return starts


def _redact_line(line: str) -> str:
    for triggers, pattern in TOKEN_PATTERNS:
        if any(t in line for t in triggers):
            line = pattern.sub(REDACTED, line)
    low = line.lower()
    if any(t in low for t in ASSIGNMENT_TRIGGERS):
        line = ASSIGNMENT.sub(_assignment, line)
    return line


def pattern_secrets(text: str) -> set[str]:
    """The strings `redact_patterns` would take out of `text`'s lines: tokens and assignment values."""
    found: set[str] = set()

    def keep(match: re.Match[str]) -> str:
        found.add(match.group(0))
        return REDACTED

    for start in candidate_lines(text):
        end = text.find("\n", start)
        line = text[start:len(text) if end == -1 else end]
        for triggers, pattern in TOKEN_PATTERNS:
            if any(t in line for t in triggers):
                line = pattern.sub(keep, line)
        if any(t in line.lower() for t in ASSIGNMENT_TRIGGERS):
            for match in ASSIGNMENT.finditer(line):
                if _assignment(match) != match.group(0):
                    value = match.group("value")
                    found.add(value[1:-1] if value[0] in "\"'" else value)
    return found - {REDACTED}


def redact_patterns(text: str) -> str:
    """`text` with secret-looking tokens, URL credentials and secret assignments replaced by [REDACTED].

    Token and assignment patterns run only on the lines holding one of their literal triggers: a pattern that
    starts with a word boundary or ignores case has no fast search, and would crawl through a packed repository.
    """
    if "PRIVATE KEY" in text:  # spans lines
        text = PRIVATE_KEY.sub(REDACTED, text)
    if "://" in text:
        text = URL_CREDENTIALS.sub(lambda m: m.group("head") + REDACTED, text)
    out: list[str] = []
    last = 0
    for start in candidate_lines(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        out += [text[last:start], _redact_line(text[start:end])]
        last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)
