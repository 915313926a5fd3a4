"""A starter AGENTS.md for `agent init` and `/init`, written from what the repository shows.

Deterministic and free (no model call): the build, test and lint commands its manifests declare, and its
top-level layout. The user sees it before it is written and is expected to edit it.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

from agent.testcmd import detect_test_command, package_scripts
from prompts import render
from tools.walk import walk_files

MAX_LAYOUT_ENTRIES = 15
_MAKE_TARGETS = ("build", "test", "check", "lint", "fmt", "format", "typecheck", "install", "dev", "run")
_NPM_SCRIPTS = ("build", "test", "lint", "typecheck", "format", "dev", "start")
_LANGUAGES = {".py": "Python", ".ts": "TypeScript", ".tsx": "TypeScript", ".js": "JavaScript", ".go": "Go",
              ".rs": "Rust", ".java": "Java", ".kt": "Kotlin", ".rb": "Ruby", ".c": "C", ".cpp": "C++", ".cs": "C#",
              ".php": "PHP", ".swift": "Swift", ".sh": "shell"}


def commands(root: Path) -> list[tuple[str, str]]:
    """(what, command) pairs the repository declares."""
    found: list[tuple[str, str]] = []
    test = detect_test_command(root)
    scripts = package_scripts(root)
    if scripts is not None:
        runner = "pnpm" if (root / "pnpm-lock.yaml").is_file() else "yarn" if (root / "yarn.lock").is_file() else "npm"
        found += [(name, f"{runner} run {name}" if name not in ("test", "start") else f"{runner} {name}")
                  for name in _NPM_SCRIPTS if name in scripts]
    makefile = root / "Makefile"
    if makefile.is_file():
        text = makefile.read_text(encoding="utf-8", errors="replace")
        found += [(t, f"make {t}") for t in _MAKE_TARGETS if re.search(rf"^{t}\s*:", text, re.M)]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError):
            data = {}
        tools = data.get("tool", {})
        if "ruff" in tools:
            found.append(("lint", "ruff check ."))
        if "mypy" in tools:
            found.append(("typecheck", "mypy ."))
        extras = data.get("project", {}).get("optional-dependencies", {})
        if "dev" in extras:
            found.insert(0, ("install", "pip install -e '.[dev]'"))
    if (root / "Cargo.toml").is_file():
        found += [("build", "cargo build"), ("lint", "cargo clippy")]
    if (root / "go.mod").is_file():
        found += [("build", "go build ./..."), ("lint", "go vet ./...")]
    if test and not any(what == "test" for what, _ in found):
        found.append(("test", test))
    seen: set[str] = set()
    return [(w, c) for w, c in found if not (c in seen or seen.add(c))]  # type: ignore[func-returns-value]


def layout(root: Path) -> tuple[list[str], str]:
    """Top-level entries with their file counts, and the main languages, from the files git would see."""
    top: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    for path in walk_files(root):
        relative = path.relative_to(root)
        top[relative.parts[0] + ("/" if len(relative.parts) > 1 else "")] += 1
        if path.suffix in _LANGUAGES:
            languages[_LANGUAGES[path.suffix]] += 1
    entries = sorted(top, key=lambda name: (not name.endswith("/"), name))[:MAX_LAYOUT_ENTRIES]
    lines = [f"- `{name}`" + (f" ({top[name]} files)" if name.endswith("/") else "") for name in entries]
    if len(top) > MAX_LAYOUT_ENTRIES:
        lines.append(f"- … and {len(top) - MAX_LAYOUT_ENTRIES} more")
    return lines, ", ".join(name for name, _ in languages.most_common(3)) or "unknown"


def starter_agents_md(root: Path) -> str:
    """The text of a starter AGENTS.md for the repository at `root`."""
    found = commands(root)
    command_lines = "\n".join(f"- {what}: `{cmd}`" for what, cmd in found) or \
        "- (no build or test command found: add them here)"
    entries, languages = layout(root)
    return render("agents_md_starter", project=root.name, languages=languages, commands=command_lines,
                  layout="\n".join(entries) or "- (empty)") + "\n"


def propose_or_write(root: Path, argument: str) -> str:
    """The TUI's /init: `/init` shows the proposal, `/init write` writes it, `/init force` replaces an
    existing AGENTS.md. Returns what to show the user."""
    from tools.atomic import atomic_write_bytes

    target = root / "AGENTS.md"
    if target.exists() and argument != "force":
        return f"{target.name} already exists; not overwriting it (/init force replaces it)"
    text = starter_agents_md(root)
    if argument not in ("write", "force"):
        return f"{text}\n---\nProposed {target.name} above. /init write writes it (edit it afterwards)."
    atomic_write_bytes(target, text.encode("utf-8"))
    return f"wrote {target}"
