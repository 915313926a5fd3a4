"""AGENTS.md as Codex and the AGENTS.md convention define it.

Every AGENTS.md from the workspace (git) root down to the working directory applies; each covers the
folder it sits in and everything below it, and a deeper file takes precedence where they disagree. They are
given to the model root first, so the most specific comes last. A total size cap keeps the prompt bounded:
what does not fit is cut from the shallowest files first, and the prompt says what was cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prompts import render
from tools.secret_files import SecretFiles

FILE_NAME = "AGENTS.md"
MAX_TOTAL_CHARS = 32_000


@dataclass(frozen=True)
class AgentsFile:
    scope: str  # the folder it covers, relative to the workspace root ("." for the root)
    text: str


def discover(root: Path, cwd: Path, secret_files: SecretFiles | None = None) -> list[AgentsFile]:
    """The AGENTS.md files from `root` down to `cwd`, root first; links leading outside are skipped."""
    root, cwd = root.resolve(), cwd.resolve()
    if cwd != root and root not in cwd.parents:
        cwd = root
    folders = [root, *reversed([p for p in cwd.parents if root in p.parents])]
    if cwd != root:
        folders.append(cwd)
    secrets = secret_files or SecretFiles()
    found: list[AgentsFile] = []
    for folder in folders:
        path = folder / FILE_NAME
        if not path.is_file():
            continue
        target = path.resolve()
        if not target.is_relative_to(root) or secrets.match(target.name) or secrets.match(target.relative_to(root)):
            continue
        scope = folder.relative_to(root).as_posix() or "."
        found.append(AgentsFile(scope, path.read_bytes().decode("utf-8", errors="replace").strip()))
    return found


def fit(files: list[AgentsFile], limit: int = MAX_TOTAL_CHARS) -> tuple[list[AgentsFile], list[str]]:
    """The files cut to `limit` characters in total, shallowest cut first, and a note for each cut."""
    kept = list(files)
    notes: list[str] = []
    excess = sum(len(f.text) for f in kept) - limit
    for i, item in enumerate(kept):
        if excess <= 0:
            break
        cut = min(excess, len(item.text))
        kept[i] = AgentsFile(item.scope, item.text[:len(item.text) - cut])
        notes.append(render("agents_md_cut", scope=item.scope, cut=cut, total=len(item.text)))
        excess -= cut
    return [f for f in kept if f.text], notes


def agents_section(files: list[AgentsFile], limit: int = MAX_TOTAL_CHARS) -> str:
    """The system prompt's section of project instructions, or "" when there are none."""
    if not files:
        return ""
    kept, notes = fit(files, limit)
    bodies = "\n\n".join(render("agents_md_file", scope=f.scope, text=f.text) for f in kept)
    cut = ("\n\n" + "\n".join(notes)) if notes else ""
    return render("agents_md", files=bodies, cut=cut)
