"""Collecting the secret values a run must never let out: what the workspace's secret files hold, what
secret-named environment variables hold, and Duet's own API keys.

A value shorter than MIN_VALUE_CHARS is not collected: ports, booleans, `admin`, `dev`, `utf-8` occur all over
ordinary code, and redacting them would garble what the model reads; a credential that short is no credential
worth that cost (short passwords written in code are caught by the assignment pattern instead). For the same
reason plain words (`development`, `postgresql`), numbers and addresses, paths and credential-free URLs are
left out.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from tools.secret_files import SECRET_ENV_NAME, SecretFiles

MIN_VALUE_CHARS = 8
MAX_SECRET_FILE_BYTES = 4 * 1024 * 1024
MAX_DIRS_VISITED = 20_000  # a bound on the walk in a huge tree; secret files sit near the top in practice
# Trees that are rebuilt from elsewhere: their files are not the project's secrets, and they are large.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", "site-packages",
                          ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "bower_components"})

_ASSIGNMENT = re.compile(r"^(?:export\s+)?[\"']?[\w.\-/ ]+?[\"']?\s*(?:=|:(?!//))\s*(?P<value>.*)$")
_URL_PASSWORD = re.compile(r"://(?P<user>[^\s:/@'\"]*):(?P<password>[^\s@/'\"]+)@")
_PLAIN = re.compile(r"^(?:[a-z_.\-]{1,16}|[\d.:\-]+|https?://[^\s@]*|(?:[a-z0-9\-]+\.)+[a-z]{2,}(?::\d+)?|"
                    r"~?\.{0,2}/[\w.\-/]*)$")
_NETRC_WORDS = frozenset({"password", "passwd", "login", "account"})


def plausible(value: str) -> bool:
    """Is `value` specific enough to redact wherever it appears?"""
    value = value.strip()
    return len(value) >= MIN_VALUE_CHARS and "\n" not in value and not _PLAIN.match(value)


def _unquote(value: str) -> str:
    value = value.strip().rstrip(",;").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        return value[1:-1]
    return value.split(" #", 1)[0].strip() if value[:1] not in "\"'" else value


def _json_strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for child in node.values():
            yield from _json_strings(child)
    elif isinstance(node, list):
        for child in node:
            yield from _json_strings(child)


def values_in_text(text: str) -> set[str]:
    """The values in a secret file's text: assignment values (.env, .envrc, INI, YAML, TOML, properties), string
    leaves of JSON, whole lines that are no assignment (tokens, key material), passwords in URLs and netrc."""
    found: set[str] = set()
    if text.lstrip()[:1] in "{[":
        try:
            found.update(_json_strings(json.loads(text)))
            return {v.strip() for v in found if plausible(v)}
        except ValueError:
            pass
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "//", "-----")) or (line[0] == "[" and line[-1] == "]"):
            continue
        found.update(m.group("password") for m in _URL_PASSWORD.finditer(line))
        words = line.split()
        found.update(words[i + 1] for i, w in enumerate(words[:-1]) if w.lower() in _NETRC_WORDS)
        if line.count(":") >= 3 and "://" not in line:  # .pgpass: host:port:database:user:password
            found.add(line.rsplit(":", 1)[-1])
        assignment = _ASSIGNMENT.match(line)
        if assignment and assignment.group("value").strip():
            found.add(_unquote(assignment.group("value")))
        else:
            found.add(line)
    return {v.strip() for v in found if plausible(v)}


def _secret_files_in(root: Path, secret_files: SecretFiles) -> Iterator[Path]:
    top = str(root)
    for visited, (directory, dirs, files) in enumerate(os.walk(top)):
        if visited >= MAX_DIRS_VISITED:
            return
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".duet"))
        prefix = directory[len(top) + 1:]  # strings, not Paths: this runs for every file of the tree
        for name in sorted(files):
            if secret_files.match_relative(f"{prefix}/{name}" if prefix else name):
                yield Path(directory, name)


def secret_file_paths(root: Path, secret_files: SecretFiles) -> tuple[Path, ...]:
    """Every secret file under `root` (resolved paths), as the redactor finds them."""
    return tuple(_secret_files_in(root.resolve(), secret_files))


def secret_file_values(root: Path, secret_files: SecretFiles) -> set[str]:
    """Values held by every secret file under `root`, gitignored ones included (those most of all)."""
    found: set[str] = set()
    for path in _secret_files_in(root.resolve(), secret_files):
        try:
            if not path.is_file() or path.stat().st_size > MAX_SECRET_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\x00" in data[:8192]:
            continue  # a keystore or database: never read by any tool, and no line of it is text to redact
        found |= values_in_text(data.decode("utf-8", errors="replace"))
    return found


def environment_values(environ: Mapping[str, str], extra_names: Iterable[str] = ()) -> set[str]:
    """Values of secret-named variables (and of `extra_names`, such as the API key variables of configured
    providers), and passwords in any variable holding a URL with credentials (`DATABASE_URL`)."""
    names = set(extra_names)
    found: set[str] = set()
    for name, value in environ.items():
        if name in names or SECRET_ENV_NAME.search(name):
            found.add(value.strip())
        for match in _URL_PASSWORD.finditer(value):
            found.update((match.group("password"), match.group(0)))
    # An API key is redacted even when it looks plain: it is ours, and exactly what must never leak.
    keys = {environ[n].strip() for n in names if environ.get(n, "").strip()}
    return {v for v in found if plausible(v)} | keys
