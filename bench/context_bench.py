"""`agent context` against its peers, whole process against whole process, on real repositories.

Every figure is the wall time of a whole process (interpreter start, imports, tokenizer loads, the work, exit),
for Duet (`agent context`) and for the peers alike: Aider's RepoMap (in its own venv) and repomix (npm).
Both Pythons run from compiled bytecode (compileall first). Scenarios are interleaved (Duet, peer, Duet,
peer, ...) for at least three rounds; the table shows medians and the ratio peer / Duet. The load average
is printed before and after: on a shared machine, quote the run with the lowest.

Corpora (outside the repository; PyPI source distributions, git-initialised): Django 5.2.19 and Flask 3.1.3
in --corpora (default /work/corpora). `--fetch` downloads them with pip.

Run: python bench/context_bench.py [--rounds 3] [--aider-python /work/venvs/aider/bin/python]
                                   [--repomix /work/peers/node_modules/.bin/repomix]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent.userdirs import cache_base, workspace_key

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.context_tasks import FAILING_TEST, TASKS  # noqa: E402

DJANGO_VERSION, FLASK_VERSION = "5.2.19", "3.1.3"
TOUCHED = "django/contrib/admin/actions.py"
SEARCH = "def get_"

AIDER_SCRIPT = """
import os, sys, subprocess
from aider.io import InputOutput
from aider.models import Model
from aider.repomap import RepoMap
root = sys.argv[1]
files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
files = [os.path.join(root, f) for f in files]
chat = [os.path.join(root, sys.argv[2])]
rm = RepoMap(map_tokens=8192, root=root, main_model=Model("gpt-4o"), io=InputOutput(yes=True), verbose=False)
text = rm.get_repo_map(chat, [f for f in files if f not in chat]) or ""
print(rm.token_count(text))
"""


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def git_init(folder: Path) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b")
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True, env=env)
    (folder / ".git/info/exclude").write_text(".duet/\n.aider*\n")
    for args in (["add", "-A"], ["commit", "-qm", "corpus"]):
        subprocess.run(["git", "-c", f"safe.directory={folder}", *args], cwd=folder, check=True, env=env)


def fetch(corpora: Path) -> None:
    downloads = corpora / "dl"
    downloads.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    f"django=={DJANGO_VERSION}", f"flask=={FLASK_VERSION}", "-d", str(downloads)], check=True)
    for name in (f"django-{DJANGO_VERSION}", f"flask-{FLASK_VERSION}"):
        if not (corpora / name / ".git").exists():
            subprocess.run(["tar", "xzf", str(downloads / f"{name}.tar.gz"), "--no-same-owner", "-C", str(corpora)],
                           check=True)
            git_init(corpora / name)


def whole(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process; its output is discarded, a failure stops the bench."""
    started = time.perf_counter()
    # stdin closed: ripgrep given a readable stdin searches it instead of the directory
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800,
                            stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result.stderr[-2000:]}")
    return elapsed


def clear_duet(root: Path) -> None:
    shutil.rmtree(cache_base() / "workspaces" / workspace_key(root.resolve()), ignore_errors=True)


def clear_aider(root: Path) -> None:
    for cache in root.glob(".aider.tags.cache*"):
        shutil.rmtree(cache, ignore_errors=True)


class Row:
    def __init__(self, name: str, peer: str) -> None:
        self.name, self.peer = name, peer
        self.ours: list[float] = []
        self.theirs: list[float] = []

    def line(self) -> str:
        ours = statistics.median(self.ours)
        if not self.theirs:
            return f"| {self.name} | {self.peer}: not measured | {ours:.2f} s | |"
        theirs = statistics.median(self.theirs)
        return f"| {self.name} | {self.peer} {theirs:.2f} s | {ours:.2f} s | {theirs / ours:.1f}× |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=Path(os.environ.get("DUET_CORPORA", "/work/corpora")))
    parser.add_argument("--fetch", action="store_true", help="download and git-init the corpora first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--aider-python", default=os.environ.get("AIDER_PYTHON", "/work/venvs/aider/bin/python"))
    parser.add_argument("--repomix", default=os.environ.get("REPOMIX", "/work/peers/node_modules/.bin/repomix"))
    args = parser.parse_args()
    if args.fetch:
        fetch(args.corpora)
    django, flask = args.corpora / f"django-{DJANGO_VERSION}", args.corpora / f"flask-{FLASK_VERSION}"
    if not django.is_dir() or not flask.is_dir():
        print("corpora missing: run with --fetch", file=sys.stderr)
        return 2
    agent = shutil.which("agent") or str(Path(sys.executable).parent / "agent")
    aider = args.aider_python if Path(args.aider_python).exists() else None
    repomix = args.repomix if Path(args.repomix).exists() else shutil.which("repomix")
    for python in filter(None, [sys.executable, aider]):
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0",
                        *(p for p in _package_dirs(python) if p)], capture_output=True)
    env = dict(os.environ, AIDER_ANALYTICS="false", REPOMIX_TOKEN_CACHE="0")
    gpt = [agent, "context", "--model", "gpt-5.5", "--hint", TASKS[0].hint]
    aider_cmd = [aider, "-c", AIDER_SCRIPT, str(django), FAILING_TEST] if aider else None
    out_dir = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    rows = {k: Row(name, peer) for k, name, peer in (
        ("cold", "Django repo map cold (`agent context --model gpt-5.5`)", "Aider"),
        ("warm", "Django map warm", "Aider"),
        ("one", "Django map, one file changed", "Aider"),
        ("flask", "Flask `agent context` cold", "repomix"),
        ("pack", "Django full pack (`agent context --whole --out FILE`, cold)", "repomix"))}
    print(f"before: {load()}")
    touched = django / TOUCHED
    original = touched.read_text()
    for round_ in range(args.rounds):
        steps: list[tuple[str, Callable[[], float], Callable[[], float] | None]] = [
            ("cold", lambda: (clear_duet(django), whole(gpt, django, env))[1],
             (lambda: (clear_aider(django), whole(aider_cmd, django, env))[1]) if aider_cmd else None),
            ("warm", lambda: whole(gpt, django, env), (lambda: whole(aider_cmd, django, env)) if aider_cmd else None),
        ]
        for key, ours, theirs in steps:
            rows[key].ours.append(ours())
            if theirs:
                rows[key].theirs.append(theirs())
        touched.write_text(original + f"\n# touched in round {round_} at {time.time()}\n")
        try:
            rows["one"].ours.append(whole(gpt, django, env))
            if aider_cmd:
                rows["one"].theirs.append(whole(aider_cmd, django, env))
        finally:
            touched.write_text(original)
        clear_duet(flask)
        rows["flask"].ours.append(whole([agent, "context"], flask, env))
        if repomix:
            rows["flask"].theirs.append(whole([repomix, "--output", str(out_dir / "flask.xml"), "--quiet",
                                               str(flask)], flask, env))
        clear_duet(django)
        rows["pack"].ours.append(whole([agent, "context", "--whole", "--out", str(out_dir / "duet.xml")], django,
                                       env))
        if repomix:
            rows["pack"].theirs.append(whole([repomix, "--output", str(out_dir / "repomix.xml"), "--quiet",
                                              str(django)], django, env))
        print(f"round {round_ + 1}/{args.rounds} done: {load()}", flush=True)
    search_row = search_figures(django, args.rounds * 5)
    print()
    print(f"Whole process against whole process, medians of {args.rounds} interleaved rounds "
          "(ratio = peer / Duet, higher is better for Duet):")
    print("| | peer | Duet | ratio |")
    print("|---|---|---|---|")
    for row in rows.values():
        print(row.line())
    print(search_row)
    print()
    print("Map ranking on three Django tasks (`agent context --model gpt-5.5 --hint TASK --explain`; "
          "target's place among mapped files, target ≤ 5):")
    for task in TASKS:
        out = subprocess.run([agent, "context", "--model", "gpt-5.5", "--hint", task.hint, "--explain"], cwd=django,
                             capture_output=True, text=True, env=env).stdout
        mapped = _section(out, "mapped:")
        place = mapped.index(task.target) + 1 if task.target in mapped else None
        print(f"  {task.name}: {task.target} #{place}")
    print(f"\nafter: {load()}")
    shutil.rmtree(out_dir, ignore_errors=True)
    return 0


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    if title not in lines:
        return []
    out = []
    for line in lines[lines.index(title) + 1:]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def _package_dirs(python: str) -> list[str]:
    code = ("import importlib.util as u, os\n"
            "for m in ('agent', 'tools', 'prompts', 'aider'):\n"
            "    s = u.find_spec(m)\n"
            "    print(os.path.dirname(s.origin) if s and s.origin else '')")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def search_figures(root: Path, repeat: int) -> str:
    """The search tool (ripgrep multi-threaded, path order restored, skipped secret files named, matching files
    over the size cap named) against a bare `rg -n`, medians of `repeat`; the outputs are checked against
    `rg --sort=path` first."""
    from tools.base import ToolContext
    from tools.search import SearchArgs, SearchTool

    ctx = ToolContext(root=root)
    tool = SearchTool()
    sorted_rg = subprocess.run(["rg", "--no-require-git", "--sort=path", "-n", "--no-heading", "--with-filename",
                                "-e", SEARCH, "--", "."], cwd=root, capture_output=True, text=True).stdout
    result = asyncio.run(tool.run(SearchArgs(pattern=SEARCH), ctx))
    expected = [line.removeprefix("./").split(":", 2) for line in sorted_rg.splitlines()]
    same = result.data["hits"] == len(expected) and result.output.splitlines()[:200] == [
        f"{p}:{n}: {t[:300].rstrip()}" for p, n, t in expected[:200]]
    ours, theirs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        asyncio.run(tool.run(SearchArgs(pattern=SEARCH), ctx))
        ours.append(time.perf_counter() - started)
        theirs.append(whole(["rg", "-n", SEARCH], root))
    mine, rg = statistics.median(ours), statistics.median(theirs)
    return (f"| search `{SEARCH}` on Django (tool call, {result.data['hits']} hits; same output as "
            f"`rg --sort=path`: {'yes' if same else 'NO'}) | `rg -n` {rg * 1000:.0f} ms | {mine * 1000:.0f} ms "
            f"| {rg / mine:.2f}× |")


if __name__ == "__main__":
    sys.exit(main())
