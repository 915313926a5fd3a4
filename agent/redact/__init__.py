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
from typing import Any, TypeVar

from pydantic import BaseModel

from agent.redact.forms import forms_of
from agent.redact.patterns import REDACTED, redact_patterns
from agent.redact.values import environment_values, plausible, secret_file_values
from tools.secret_files import SecretFiles

__all__ = ["REDACTED", "Redactor", "redact_event"]

MIN_KEY_CHARS = 6
WRAPPED_BASE64 = re.compile(r"(?m)(?:^[A-Za-z0-9+/_\-]{40,}\n)+[A-Za-z0-9+/_\-]*=*(?:\n|$)")


class Redactor:
    """Replaces known secret values (in all their forms) and secret-looking strings by [REDACTED].

    Made once at the start of a run; `add` takes values learnt later (the API keys a front end was given).
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._forms: list[str] = []
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

    @property
    def value_count(self) -> int:
        return len(self._values)

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
        if self._forms:
            if "\n" in text:  # `base64` wraps its output at 76 columns: a value may straddle a line break
                text = WRAPPED_BASE64.sub(self._unwrap_if_secret, text)
            text = self._replace_values(text)
        return redact_patterns(text)

    def _replace_values(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def _unwrap_if_secret(self, match: re.Match[str]) -> str:
        joined = match.group(0).replace("\n", "")
        cleaned = self._replace_values(joined)
        return match.group(0) if cleaned == joined else cleaned + "\n"


_E = TypeVar("_E", bound=BaseModel)


def _clean(node: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return redact(node)
    if isinstance(node, dict):
        return {k: _clean(v, redact) for k, v in node.items()}
    if isinstance(node, list):
        return [_clean(v, redact) for v in node]
    return node


def redact_event(event: _E, redact: Callable[[str], str]) -> _E:
    """`event` with every text field redacted (the same object when nothing changed)."""
    data = event.model_dump()
    cleaned = _clean(data, redact)
    return event if cleaned == data else type(event).model_validate(cleaned)
