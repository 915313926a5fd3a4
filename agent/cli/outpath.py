"""Where a command writes a file the user named (`--out`, `--html`): checked before any work is done.

A command in an earlier session could have left a link where the user's file goes (`cost.html ->
~/.ssh/authorized_keys`) or in a directory on the way (`dist -> /elsewhere`). Neither is followed: the path is
refused with one line (exit 2), and the write itself again opens every directory without following links and
creates the file relative to the last one (tools.atomic), so a link planted after this check is refused too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from agent.errors import ConfigError
from tools.beneath import LinkRefused, lstat_at, open_dir


def output_path(given: str, shown: str) -> Path:
    """`given` as an absolute path (lexical: no link looked up) once it is known to lie in an existing directory
    reached without links, and to be a regular file or nothing yet; ConfigError otherwise, its line starting
    with `shown` (what is being written, e.g. "--out pack.xml")."""
    out = Path(os.path.abspath(Path(given).expanduser()))
    try:
        dir_fd = open_dir(out.parent)
    except LinkRefused as exc:
        raise ConfigError(f"{shown}: {exc.where} is a symbolic link; Duet does not write through links "
                          "(give the real path)") from None
    except FileNotFoundError:
        raise ConfigError(f"{shown}: directory {out.parent} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot open directory {out.parent} ({exc.strerror})") from None
    try:
        found = lstat_at(dir_fd, out.name)
    finally:
        os.close(dir_fd)
    if found is not None and stat.S_ISLNK(found.st_mode):
        raise ConfigError(f"{shown}: not a regular file but a symbolic link; Duet does not write through links "
                          "(remove it or give another path)")
    if (found is not None and not stat.S_ISREG(found.st_mode)) or not out.name:
        raise ConfigError(f"{shown}: not a regular file; give a file path")
    return out


def write_refusal(out: Path, exc: OSError) -> ConfigError:
    """The one line for a write to `out` that failed after the check (a link planted since, a full disk)."""
    if isinstance(exc, LinkRefused):
        return ConfigError(f"cannot write {out}: a symbolic link appeared on the way ({exc.where}); "
                           "Duet does not write through links, nothing was written")
    return ConfigError(f"cannot write {out}: {exc.strerror or exc}")
