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


def voiding_args(git: str, root: Path, places: Iterable[Path], env: Mapping[str, str]) -> list[str]:
    """`-c key=` (and `-c filter.<d>.required=false`) for every program key that a file commands could write
    sets in the configuration git reads in `root`. Empty when git cannot say (it then fails the real call too).
    Keys with fixed names that run programs are voided for every origin by gitsafe.HARDENING (placed after
    these, so they win)."""
    try:
        done = subprocess.run([git, "config", "--list", "--show-origin", "--includes", "-z"], cwd=root,
                              env=dict(env), capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    fields = done.stdout.split(b"\0")
    places = [p.resolve() for p in places]
    out: list[str] = []
    for origin, setting in zip(fields[0::2], fields[1::2], strict=False):
        name = setting.split(b"\n", 1)[0].decode("utf-8", "replace")
        text = os.fsdecode(origin)
        if not text.startswith("file:") or not (match := PROGRAM_KEY.match(name)):
            continue
        path = Path(text.removeprefix("file:"))
        if not _writable((root / path).resolve(), places):
            continue
        value = "false" if name.lower().endswith("gpgsign") else ""
        out += ["-c", f"{name}={value}"]
        if match.group("filter"):
            out += ["-c", f"filter.{match.group('filter')}.required=false"]
    return _pairs(out)


def _pairs(args: list[str]) -> list[str]:
    """`args` (a flat list of `-c`, value pairs) without repeated pairs, in order."""
    seen = dict.fromkeys(args[i + 1] for i in range(0, len(args), 2))
    return [arg for value in seen for arg in ("-c", value)]
