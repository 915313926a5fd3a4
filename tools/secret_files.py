"""The one list of secret files: what no reader (scan, pack, repo map, read_file, search, list_files, AGENTS.md)
ever shows a model, and where redaction by value finds the values to hide.

Patterns are shell globs (`fnmatch`), matched case-insensitively against the file name, and against the
workspace-relative path when the pattern holds a `/`. The config's `secret_files` adds patterns.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from pathlib import PurePath

# `*secret*` alone would hide source files such as `secrets.py` or `test_secret_store.go` that the model must be
# able to read, so it applies to configuration and data files only.
_SECRET_CONFIG_SUFFIXES = (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".properties",
                           ".txt", ".xml", ".plist")

DEFAULT_SECRET_FILES: tuple[str, ...] = (
    ".env*", ".envrc", ".netrc", "_netrc", ".pgpass", ".npmrc", ".pypirc", ".git-credentials", ".dockercfg",
    "*.tfstate*", "*.tfvars", "credentials*", "*secret", "*secrets", *(f"*secret*{s}" for s in _SECRET_CONFIG_SUFFIXES),
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.ppk",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx", "*.asc",
)
# Templates that document which variables exist, by convention without values: the model may read them.
NOT_SECRET = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})


class SecretFiles:
    """Decides whether a workspace path is a secret file. Immutable; build one per session."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.patterns = tuple(dict.fromkeys([*DEFAULT_SECRET_FILES, *extra]))
        by_name = [p for p in self.patterns if "/" not in p]
        by_path = [p for p in self.patterns if "/" in p]
        self._name = re.compile("|".join(fnmatch.translate(p.lower()) for p in by_name)) if by_name else None
        self._path = re.compile("|".join(fnmatch.translate(p.lower()) for p in by_path)) if by_path else None

    def match(self, path: str | PurePath) -> bool:
        """True when `path` (a relative path or a bare name) is a secret file."""
        return self.match_relative(PurePath(path).as_posix())

    def match_relative(self, relative: str) -> bool:
        """`match` for a path already relative and '/'-separated, as git and ripgrep list them: no path
        parsing (a scan asks this for every file of a monorepo)."""
        text = relative.lower()
        name = text.rsplit("/", 1)[-1]
        if name in NOT_SECRET:
            return False
        if self._name is not None and self._name.match(name):
            return True
        return self._path is not None and self._path.match(text.removeprefix("./")) is not None

    def rg_globs(self) -> list[str]:
        """ripgrep `--glob` arguments that keep every secret file from being opened at all."""
        out: list[str] = []  # exclusions only: a positive glob would turn into "search only these"
        for pattern in self.patterns:
            out += ["--iglob", "!" + (pattern if "/" in pattern else f"**/{pattern}")]
        return out


# Environment variables whose values are secrets: never passed to model-run commands, and redacted by value
# wherever they appear. (Variables of other names that carry credentials in a URL are caught by value too.)
# PASS covers DB_PASS and PASSPHRASE; PWD covers MYSQL_PWD but not the working-directory variables PWD and OLDPWD.
SECRET_ENV_NAME = re.compile(r"(API_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|_KEY$|"
                             r"AUTH(?!OR)|_DSN$|COOKIE|SESSION_ID|PASS|WEBHOOK|^(?!(?:OLD)?PWD$).*PWD)", re.I)
