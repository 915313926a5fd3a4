"""Removing secrets from everything that leaves the machine or lands on disk.

By value: the exact strings in the workspace's secret files, in secret-named environment variables and Duet's
own API keys, in every form they may take (see `forms`). By pattern: secret-looking tokens, credentials in URLs
and secret assignments (see `patterns`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from agent.redact.fastsearch import any_of
from agent.redact.forms import forms_of
from agent.redact.patterns import REDACTED, pattern_secrets, redact_patterns
from agent.redact.values import environment_values, plausible, secret_file_values
from tools.secret_files import SecretFiles

__all__ = ["REDACTED", "Redactor", "redact_event"]

_E = TypeVar("_E", bound=BaseModel)

MIN_KEY_CHARS = 6
MIN_WRAPPED_WIDTH = 40
BASE64_LINE = re.compile(r"[A-Za-z0-9+/_\-]+=*\r?\n?")
# Where a run of wrapped base64 lines may start (a superset of what `_unwrap_secret_runs` joins): at the start of
# the text or after any line break `splitlines` knows, a line of base64 characters long enough, ended by \n, \r\n
# or a lone \r, then a line starting with one. Anchored on the break, a character class the regex engine scans
# for fast: a 34 MB pack is checked in about 30 ms, against 200 ms for walking its lines.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_WRAPPED = rf"[A-Za-z0-9+/_=\-]{{{MIN_WRAPPED_WIDTH - 2},}}(?:\r\n|\n|\r)[A-Za-z0-9+/_\-]"
WRAPPED_AT_START, WRAPPED_AFTER_BREAK = re.compile(_WRAPPED), re.compile(f"[{_LINE_BREAKS}]{_WRAPPED}")
WRAPPED_AFTER_NEWLINE = re.compile(f"\n{_WRAPPED}")  # the same where \n is the only break: 4x faster


class Redactor:
    """Replaces known secret values (in all their forms) and secret-looking strings by [REDACTED].

    Made once at the start of a run; `add` takes values learnt later (the API keys a front end was given).
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._forms: list[str] = []
        self._any_form: Callable[[str], bool] | None = None
        self.add(known)

    def add(self, values: Iterable[str], *, trusted: bool = False) -> None:
        """Redact `values` from now on. Untrusted ones must look specific enough (see values.plausible); trusted
        ones (API keys) need only MIN_KEY_CHARS, so a placeholder key such as `none` never garbles the text."""
        stripped = {v.strip() for v in values if v and v.strip()} - self._values
        fresh = {v for v in stripped if (len(v) >= MIN_KEY_CHARS if trusted else plausible(v))}
        if not fresh:
            return
        self._values |= fresh
        forms = {form for value in self._values for form in forms_of(value)}
        # Longest first, so a value's base64 is not cut apart by a shorter value found inside it.
        self._forms = sorted(forms, key=lambda f: (-len(f), f))
        self._any_form = any_of(self._forms)

    @classmethod
    def for_run(cls, workspace: Path | None, secret_files: SecretFiles | None = None,
                environ: Mapping[str, str] | None = None, key_variables: Iterable[str] = ()) -> Redactor:
        """The redactor of a run in `workspace`: its secret files' values, the environment's secrets and keys."""
        env = os.environ if environ is None else environ
        redactor = cls()
        redactor.add(environment_values(env, key_variables), trusted=True)
        if workspace is not None:
            redactor.add(secret_file_values(workspace, secret_files or SecretFiles()))
        return redactor

    @classmethod
    def from_environ(cls) -> Redactor:
        """Only the process environment's secrets (for tools and tests without a workspace)."""
        return cls.for_run(None)

    def __call__(self, text: str) -> str:
        leftovers: set[str] = set()
        if self._forms:
            if _may_hold_wrapped_run(text):  # `base64` wraps at 76 columns: a value may straddle a line break
                unwrapped = self._unwrap_secret_runs(text)
                if unwrapped != text:  # a joined line can hide a token's word boundary from the patterns
                    leftovers = pattern_secrets(text)
                text = unwrapped
            text = self._replace_values(text)
        text = redact_patterns(text)
        for secret in sorted(leftovers, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def _replace_values(self, text: str) -> str:
        if self._any_form is not None and not self._any_form(text):
            return text  # one pass for every form; the loop below costs a pass per form (hundreds of them)
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def _unwrap_secret_runs(self, text: str) -> str:
        """Runs of two or more wrapped base64 lines holding a secret, joined into one redacted line."""
        lines = text.splitlines(keepends=True)
        out: list[str] = []
        i = 0
        while i < len(lines):
            j = i
            while j < len(lines) and len(lines[j]) > MIN_WRAPPED_WIDTH and BASE64_LINE.fullmatch(lines[j]):
                j += 1
            if j < len(lines) and j > i and BASE64_LINE.fullmatch(lines[j]):
                j += 1  # the shorter last line of the stream
            if j - i >= 2:
                joined = "".join(line.rstrip("\r\n") for line in lines[i:j])
                cleaned = self._replace_values(joined)
                out += lines[i:j] if cleaned == joined else [cleaned + "\n"]
                i = j
            else:
                out.append(lines[i])
                i += 1
        return "".join(out)


def _may_hold_wrapped_run(text: str) -> bool:
    """Could `text` hold two or more wrapped base64 lines (the first at the start of the text or of a line)?"""
    if WRAPPED_AT_START.match(text) is not None:
        return True
    after = WRAPPED_AFTER_BREAK if any(c in text for c in _LINE_BREAKS[1:]) else WRAPPED_AFTER_NEWLINE
    return after.search(text) is not None


def redact_event(event: _E, redact: Callable[[str], str]) -> _E:
    """`event` with every text field redacted (the same object when nothing changed)."""
    from agent.events import map_text  # the event models: not for commands that only redact text

    return map_text(event, redact)
