"""Program-running git settings that come from a file commands could write, and the `-c` lines that void them.

A trusted repository's `.git/config` is read-only to sandboxed commands, but it may include other files
(`[include] path = ../.gitconfig`, a shared config committed with the project, is a common pattern), and git
reads those where they are: in the work tree, which commands may write. A filter driver, textconv, diff or
merge driver or signing program added there would run in Duet's own, unsandboxed git. The names of these keys
are the user's (`filter.<driver>.clean`), so they cannot be listed in advance: git is asked where each
setting of the repository comes from (`git config --show-origin`, which runs no program), and every program
key set by such a file is overridden with an empty value on Duet's command line.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools.binaries import shared_temp_dirs

PROGRAM_KEY = re.compile(r"^(filter\.(?P<filter>.+)\.(clean|smudge|process)|diff\..+\.(textconv|command)"
                         r"|merge\..+\.driver|gpg(\..+)?\.program|gpg\.ssh\.defaultkeycommand|diff\.external"
                         r"|core\.editor|sequence\.editor|credential\..+\.helper|commit\.gpgsign|tag\.gpgsign)$",
                         re.IGNORECASE)


def _writable(origin: Path, places: Iterable[Path]) -> bool:
    """Could a sandboxed command have written `origin`: inside the work tree or a watched workspace (not in
    that place's own `.git/`, which is read-only to commands), or in a shared temp dir?"""
    if any(origin.is_relative_to(t) for t in shared_temp_dirs()):
        return True
    return any(origin.is_relative_to(p) and not origin.is_relative_to(p / ".git") for p in places)


def _stat(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _base_files(root: Path, env: Mapping[str, str]) -> list[Path]:
    """The config files git reads before any include, and HEAD (an `includeIf "onbranch:"` follows it)."""
    home = Path(env.get("HOME") or "/nonexistent")
    xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    files = [root / ".git", root / ".git/config", root / ".git/config.worktree", root / ".git/HEAD",
             home / ".gitconfig", xdg / "git/config", Path("/etc/gitconfig")]
    return files + [Path(env[k]) for k in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM") if env.get(k)]


# What `git config --show-origin` said per repository, with the stat of every file the answer depends on (the
# files read, and the targets named by include paths, present or not): asked again only when one changed.
_ANSWERS: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[tuple[Path, tuple[int, ...] | None], ...], list[str]]] = {}


class UnvoidableSetting(OSError):
    """A program key from a writable file that no `-c` can override (its name holds "="): fail closed."""


def voiding_args(git: str, root: Path, places: Iterable[Path], env: Mapping[str, str]) -> list[str]:
    """`-c key=` (and `-c filter.<d>.required=false`) for every program key that a file commands could write
    sets in the configuration git reads in `root` (the top of the work tree). Empty when git cannot say (it
    then fails the real call too). Keys with fixed names that run programs are voided for every origin by
    gitsafe.HARDENING (placed after these, so they win)."""
    places = [p.resolve() for p in places]
    key = (git, str(root), tuple(map(str, places)))
    known = _ANSWERS.get(key)
    if known is not None and all(_stat(path) == seen for path, seen in known[0]):
        return known[1]
    before = [(path, _stat(path)) for path in _base_files(root, env)]  # taken before git reads them
    try:
        done = subprocess.run([git, "config", "--list", "--show-origin", "--includes", "-z"], cwd=root,
                              env=dict(env), capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    fields = done.stdout.split(b"\0")
    depends: list[Path] = []
    out: list[str] = []
    for origin, setting in zip(fields[0::2], fields[1::2], strict=False):
        name, _, value = setting.decode("utf-8", "replace").partition("\n")
        text = os.fsdecode(origin)
        if not text.startswith("file:"):
            continue
        path = (root / text.removeprefix("file:")).resolve()
        depends.append(path)
        if re.fullmatch(r"include(if\..+)?\.path", name, re.IGNORECASE):
            depends.append(path.parent / Path(value).expanduser())  # the included file, there yet or not
        if not (match := PROGRAM_KEY.match(name)) or not _writable(path, places):
            continue
        if "=" in name:  # `-c` splits at the first "=": `filter.a=b.clean=` would set `filter.a`, not void it
            raise UnvoidableSetting(f"{path} sets {name!r}, a program Duet cannot switch off on git's command "
                                    "line; Duet runs no git in this repository")
        out += ["-c", f"{name}={'false' if name.lower().endswith('gpgsign') else ''}"]
        if match.group("filter"):
            out += ["-c", f"filter.{match.group('filter')}.required=false"]
    answer = _pairs(out)
    if len(_ANSWERS) > 64:
        _ANSWERS.clear()
    _ANSWERS[key] = (tuple(before) + tuple((path, _stat(path)) for path in dict.fromkeys(depends)), answer)
    return answer


def _pairs(args: list[str]) -> list[str]:
    """`args` (a flat list of `-c`, value pairs) without repeated pairs, in order."""
    seen = dict.fromkeys(args[i + 1] for i in range(0, len(args), 2))
    return [arg for value in seen for arg in ("-c", value)]
