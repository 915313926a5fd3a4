"""The sandbox policy of a run (one typed value, from flag/config to the launcher) and its description."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.config import user_config_path
from agent.userdirs import cache_base, state_base
from tools.secret_files import SecretFiles

Mechanism = Literal["landlock", "bwrap", "none", "off"]
"""How commands are confined: a kernel mechanism, nothing available ("none"), or disabled by the user ("off")."""

PROTECTED_DIRS = (".git", ".duet")
CREDENTIAL_STORES = (".ssh", ".aws", ".gnupg", ".netrc", ".git-credentials", ".docker/config.json", ".kube",
                     ".config/gcloud", ".config/duet", ".config/gh", ".config/hub", ".config/git/credentials",
                     ".npmrc", ".pypirc", ".pgpass", ".my.cnf", ".cargo/credentials", ".cargo/credentials.toml",
                     ".azure", ".password-store", ".local/share/keyrings", ".vault-token",
                     ".terraform.d/credentials.tfrc.json", ".config/rclone", ".s3cfg", ".boto", ".config/doctl",
                     ".config/op", ".gem/credentials")
"""Credential stores hidden even where HOME as a whole cannot be (the workspace is HOME or holds it)."""
HOME_ALLOW = (".cache", ".local/bin", ".local/lib", ".local/share/uv", ".local/share/pipx",
              ".local/share/virtualenvs", ".virtualenvs", ".pyenv", ".rustup", ".cargo/bin", ".cargo/registry",
              ".cargo/git", ".npm", ".nvm", ".volta", ".bun/bin", ".deno", ".m2/repository", ".gradle/caches",
              ".gradle/wrapper", "go/pkg", "go/bin", ".sdkman/candidates", ".gitconfig", ".config/git/config",
              ".config/git/ignore", ".config/git/attributes")
"""The toolchain directories in HOME that commands may read; the rest of HOME is out of their sight (shell
history, ~/.docker, ~/.m2/settings.xml, sops/age keys, pulumi, gcloud: every store no list could name).
The user adds entries with `[sandbox] home_allow` (an untrusted project cannot: see agent/trust)."""
HOME_SECRETS = (".cache/duet", ".cache/huggingface/token", ".cache/huggingface/stored_tokens")
"""Secrets inside the allowed directories: hidden anyway."""


@dataclass(frozen=True)
class SandboxPolicy:
    """What sandboxed commands may do in one run."""

    enabled: bool
    """False only when the user turned the sandbox off (flag or config)."""
    workspace: Path
    workspace_writable: bool
    """False in read-only mode: then only /dev/null and the private temp dir are writable."""
    network: bool
    env_allow: tuple[str, ...] = ()
    mechanism: Literal["auto", "landlock", "bwrap"] = "auto"
    home: Path | None = None
    duet_config: Path | None = None
    key_variables: tuple[str, ...] = ()
    """The configured providers' API key variables: never in a command's environment, whatever their names."""
    secret_files: SecretFiles | None = field(default_factory=SecretFiles)
    """Workspace files commands may not read (the secret-file list); None: commands may read them (opt-in)."""
    home_allow: tuple[str, ...] = HOME_ALLOW
    """Paths relative to HOME that commands may read; all else of HOME is hidden (see `home_hidden`)."""
    duet_private: tuple[Path, ...] = ()
    """Duet's own state and caches (known repositories, secret files of checkpoints, sealed caches): hidden
    wherever XDG puts them, HOME or not."""

    @classmethod
    def from_config(cls, config: object, workspace: Path, environ: Mapping[str, str]) -> SandboxPolicy:
        """The policy for `config` (an agent.config.Config) in `workspace`."""
        sandbox = config.sandbox  # type: ignore[attr-defined]
        home = environ.get("HOME")
        return cls(enabled=sandbox.mode == "on", workspace=workspace.resolve(),
                   workspace_writable=config.approval != "read-only",  # type: ignore[attr-defined]
                   network=sandbox.network, env_allow=tuple(sandbox.env_allow), mechanism=sandbox.mechanism,
                   home=Path(home).resolve() if home else None,
                   duet_config=user_config_path(environ).parent,
                   key_variables=tuple(sorted({p.api_key_env for p in config.providers.values()})),  # type: ignore[attr-defined]
                   home_allow=(*HOME_ALLOW, *sandbox.home_allow),
                   duet_private=(state_base(environ), cache_base(environ) / "workspaces"),
                   secret_files=None if sandbox.read_secret_files else config.secret_file_list())  # type: ignore[attr-defined]

    def protected(self) -> tuple[Path, ...]:
        return tuple(self.workspace / name for name in PROTECTED_DIRS)

    def home_hidden(self) -> bool:
        """Is HOME as a whole out of commands' sight (but for `home_allow` and the workspace)? Not when the
        workspace is HOME or holds it: then only the credential stores are hidden."""
        home = self.home
        return home is not None and home != Path("/") and home != self.workspace and self.workspace not in \
            home.parents and home.is_dir()

    def home_allowed(self) -> tuple[Path, ...]:
        """The existing `home_allow` entries (where a link leads, too), when HOME is hidden."""
        if not self.home_hidden() or self.home is None:
            return ()
        home = str(self.home)
        names = [name.removeprefix("~/") for name in self.home_allow if ".." not in name.split("/")]
        return tuple(p for p in with_real_paths([os.path.join(home, n) for n in names])
                     if p not in self.workspace.parents)

    def hidden(self) -> tuple[Path, ...]:
        """Credential stores in HOME that sandboxed commands may not read (HOME itself when `home_hidden`)."""
        home = str(self.home)
        stores = [os.path.join(home, name) for name in (*CREDENTIAL_STORES, *HOME_SECRETS)] if self.home else []
        if self.home is not None and self.home_hidden():
            stores.insert(0, home)
        if self.duet_config is not None:
            stores.append(str(self.duet_config))
        stores += [str(p) for p in self.duet_private]
        return tuple(p for p in with_real_paths(stores) if p != Path("/"))


def with_real_paths(paths: list[str]) -> list[Path]:
    """The existing `paths`, each followed by where it really is when that differs (~/.aws -> ~/dotfiles/aws:
    hide or grant where the store really is, too). Strings, and each parent directory resolved once: this runs
    for every command."""
    real_dirs: dict[str, str] = {}
    out: list[str] = []
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        out.append(path)
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(path)
        else:
            parent, name = os.path.split(path)
            if parent not in real_dirs:
                real_dirs[parent] = os.path.realpath(parent)
            real = os.path.join(real_dirs[parent], name)
        if real != path:
            out.append(real)
    return [Path(p) for p in dict.fromkeys(out)]


@dataclass(frozen=True)
class SandboxInfo:
    """A description of the sandbox in force, for the system prompt, `agent doctor` and the start of a run."""

    mechanism: Mechanism
    detail: str
    """E.g. "Landlock ABI 7", or why there is no sandbox."""
    writable: tuple[str, ...]
    protected: tuple[str, ...]
    network: bool
    root_writable: bool = False
    """Can commands create, delete and rename entries directly in the workspace root?"""

    @property
    def active(self) -> bool:
        return self.mechanism in ("landlock", "bwrap")

    def summary(self) -> str:
        """One line for people: what confines commands in this run."""
        if self.mechanism == "off":
            return "sandbox off (by your choice): commands run with your full permissions"
        if self.mechanism == "none":
            return f"no sandbox available ({self.detail}): approvals are the only guard"
        net = "on" if self.network else "off"
        return (f"sandbox: {self.detail}; writable: {', '.join(self.writable) or 'nothing'}; "
                f"read-only: {', '.join(self.protected)}; network {net}")
