"""House rules checked on every run: ruff, the import layering, and a light `agent --help`."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = re.compile(r"^\s*(?:import|from)\s+([a-zA-Z_][\w.]*)", re.M)


def imports_in(folder: str) -> dict[str, set[str]]:
    """Every module each file under `folder` imports, by its full dotted name."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        found[str(path.relative_to(ROOT))] = set(IMPORT.findall(path.read_text()))
    assert found, f"no Python files under {folder}/"
    return found


def offenders(folder: str, forbidden: set[str], allowed_under: str | None = None) -> dict[str, list[str]]:
    """Files under `folder` importing a forbidden package or any of its submodules."""
    bad: dict[str, list[str]] = {}
    for file, modules in imports_in(folder).items():
        if allowed_under and file.startswith(allowed_under):
            continue
        hits = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))
        if hits:
            bad[file] = hits
    return bad


def test_the_import_scanner_sees_what_it_checks() -> None:
    """The layer tests below would pass vacuously if the scanner missed imports; it must not."""
    assert "tools.registry" in imports_in("agent")["agent/runtime.py"]
    assert offenders("agent", {"openai"}) != {}  # the provider layer does import it
    assert offenders("agent", {"tools"}) != {}  # and agent/ does import tools/


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_are_clean() -> None:
    """mypy over the product packages, as configured in pyproject.toml (cache in the tree: reruns take a second)."""
    result = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tools_know_nothing_of_agent_or_tui() -> None:
    assert offenders("tools", {"agent", "tui"}) == {}


def test_only_the_provider_layer_imports_the_sdk() -> None:
    assert offenders("agent", {"openai", "httpx", "httpx2"}, allowed_under="agent/providers/") == {}


def test_the_tui_goes_through_the_agents_public_surface() -> None:
    """No provider, HTTP client or SDK in the TUI, and no tool: it asks the agent (agent/interactive.py)."""
    assert offenders("tui", {"openai", "httpx", "httpx2", "agent.providers", "tools"}) == {}


def test_nothing_imports_the_tui_but_the_cli_entry() -> None:
    bad = {f: m for folder in ("agent", "tools") for f, m in offenders(folder, {"tui"}).items()}
    assert bad == {"agent/cli/main.py": ["tui.app"]}


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys, contextlib, io\nfrom agent.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "heavy = sorted(m for m in ('openai', 'textual', 'rich', 'pydantic', 'git', 'tree_sitter', 'httpx2')"
            " if m in sys.modules)\nprint(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_ci_runs_exactly_the_readme_set_up_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    set_up = readme[readme.index("## Set up"):readme.index("## Using it")]
    commands = re.findall(r"```sh\n(.+?)\n```", set_up)
    assert len(commands) == 2 and commands[1] == ".venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text().replace(" \\\n  ", " ")
    lines = [line.strip() for line in ci.splitlines()]
    assert any(line.startswith(commands[0] + " ") or line == commands[0] for line in lines), commands[0]
    assert commands[1] in lines
    assert "no tests were collected" in ci  # pytest's exit 5 is a failure, not a pass


PACKAGES = ("agent", "tools", "tui")


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module → the modules of ours it imports: every `import` and `from … import` anywhere in the file (inside
    functions and `if TYPE_CHECKING:` too), relative ones resolved, `from pkg import mod` read as the submodule."""
    files = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*here[:len(here) - node.level + 1], *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.sub import b\n")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("def later():\n    from .. import a\n    return a\n")
    (tmp_path / "pkg" / "c.py").write_text("import pkg.a\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert "agent.runtime" in import_graph()["agent.cli.headless"]  # and it reads our tree


def test_no_import_cycles_among_our_modules() -> None:
    """A cycle means two modules are one concern split in two, or a shared name that belongs in a third."""
    assert import_cycles(import_graph()) == []
