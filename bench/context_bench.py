"""Context benchmarks on real repositories, with peers measured side by side in the same run.

Corpora (PyPI source distributions, git-initialised): Django 5.2.19 and Flask. Fetch them with
`python bench/context_bench.py --fetch` (pip download; needs the package registry).
Peers, when installed: repomix (npm) and Aider's RepoMap (a venv given with --aider-python).

Prints: token count of Django cold/warm, repo map of Django cold/warm (and where the failing test's
files rank), full pack of Flask, pack of Django vs repomix, Aider's map of Django, and the byte-stable
prompt prefix over a scripted 20-turn session.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.config import load_config
from agent.context.plan import ContextBuilder
from agent.context.render import render_pack
from agent.context.scan import scan_workspace
from agent.context.tokencount import TokenCounter
from agent.redact import Redactor
from agent.tokens import count_o200k

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpora"
DJANGO = CORPORA / "django-5.2.19"
FAILING_TEST = "tests/admin_views/test_actions.py"
TRACEBACK = f"""FAILED {FAILING_TEST}::AdminActionsTest::test_model_admin_default_delete_action
{FAILING_TEST}:75: in test_model_admin_default_delete_action
    response = self.client.post(reverse("admin:admin_views_subscriber_changelist"), action_data)
django/contrib/admin/actions.py:41: in delete_selected
    modeladmin.delete_queryset(request, queryset)
E   AssertionError: 2 != 0
"""
EXPECTED_NEAR_TOP = "django/contrib/admin/actions.py"


def fetch() -> None:
    CORPORA.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "django==5.2.19",
                    "flask", "-d", str(CORPORA)], check=True)
    for archive in CORPORA.glob("*.tar.gz"):
        subprocess.run(["tar", "xzf", str(archive), "-C", str(CORPORA)], check=True)
    for folder in (p for p in CORPORA.iterdir() if p.is_dir()):
        if not (folder / ".git").exists():
            env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                       GIT_COMMITTER_EMAIL="b@b")
            subprocess.run(["git", "init", "-q"], cwd=folder, check=True, env=env)
            (folder / ".git/info/exclude").write_text(".duet/\n.aider*\n")
            for args in (["add", "-A"], ["commit", "-qm", "corpus"]):
                subprocess.run(["git", "-c", f"safe.directory={folder}", *args], cwd=folder, check=True, env=env)


def flask_dir() -> Path:
    return next(p for p in sorted(CORPORA.glob("flask-*")) if p.is_dir())


def clear_cache(root: Path) -> None:
    shutil.rmtree(root / ".duet" / "cache", ignore_errors=True)


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def config_for(root: Path):  # type: ignore[no-untyped-def]
    return load_config(root, environ={"HOME": str(root / ".duet" / "home")})


def token_count(root: Path) -> int:
    scan = scan_workspace(root)
    counter = TokenCounter(root / ".duet" / "cache" / "tokens.json")
    total = sum(counter.o200k(scan.files).values())
    counter.save()
    return total


def repo_map(root: Path) -> tuple[ContextBuilder, object]:
    """Time to the map (the caches are written by a background thread meanwhile)."""
    builder = ContextBuilder(root, config_for(root))
    return builder, builder.plan("gpt-5.5", [TRACEBACK])


def repomix(root: Path) -> float | None:
    exe = shutil.which("repomix")
    if exe is None:
        return None
    out = Path(tempfile.mkdtemp()) / "out.xml"
    env = dict(os.environ, REPOMIX_TOKEN_CACHE="0")
    started = time.perf_counter()
    subprocess.run([exe, "--output", str(out), "--quiet", str(root)], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


AIDER_SCRIPT = """
import os, sys, time, subprocess
from aider.io import InputOutput
from aider.models import Model
from aider.repomap import RepoMap
root = sys.argv[1]
files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
files = [os.path.join(root, f) for f in files]
chat = [os.path.join(root, sys.argv[2])]
rm = RepoMap(map_tokens=8192, root=root, main_model=Model("gpt-4o"), io=InputOutput(yes=True), verbose=False)
t = time.perf_counter()
text = rm.get_repo_map(chat, [f for f in files if f not in chat]) or ""
print(time.perf_counter() - t, rm.token_count(text))
"""


def aider(python: str | None, root: Path) -> tuple[float, float, int] | None:
    if not python or not Path(python).exists():
        return None
    for cache in root.glob(".aider.tags.cache*"):
        shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    out = subprocess.run([python, "-c", AIDER_SCRIPT, str(root), FAILING_TEST], capture_output=True, text=True,
                         env=dict(os.environ, AIDER_ANALYTICS="false"), timeout=900)
    whole = time.perf_counter() - started
    try:
        inner, tokens = out.stdout.strip().splitlines()[-1].split()
    except (ValueError, IndexError):
        print("aider failed:", out.stderr[-500:], file=sys.stderr)
        return None
    return float(inner), whole, int(float(tokens))


async def prefix_session(root: Path) -> list[float]:
    from agent.approval import refuse_headless
    from agent.runtime import build_agent
    from agent.session import Session
    from fixtures.fakeapi import FakeAPI, ScriptedCall, Turn
    from fixtures.fakeapi.render import prefix_ratios

    calls = [ScriptedCall(name="search", arguments={"pattern": "def url_for"}),
             ScriptedCall(name="read_file", arguments={"path": "src/flask/helpers.py", "limit": 80}),
             ScriptedCall(name="list_files", arguments={"glob": "*.py", "path": "src"})]
    turns = [Turn(reasoning="Looking around. " * 10, content="step", tool_calls=[calls[i % 3]]) for i in range(19)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "flask"
        shutil.copytree(root, work, ignore=shutil.ignore_patterns(".duet"))
        with FakeAPI([*turns, Turn(content="done")]) as server:
            config = load_config(work, {"approval": "full-auto", "model": "deepseek-v4-flash"},
                                 {"DEEPSEEK_BASE_URL": server.base_url, "HOME": tmp})
            session = Session(work, config)
            agent, pool = build_agent(session, refuse_headless, environ={"DEEPSEEK_API_KEY": "bench"})
            await agent.run("Explain how url_for builds URLs.")
            await pool.aclose()
            session.close()
            return prefix_ratios(server.requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fetch", action="store_true", help="download and git-init the corpora first")
    parser.add_argument("--aider-python", default=os.environ.get("AIDER_PYTHON"),
                        help="python of a venv with aider-chat installed")
    args = parser.parse_args()
    if args.fetch:
        fetch()
    if not DJANGO.is_dir():
        print("corpora missing: run with --fetch", file=sys.stderr)
        return 2
    flask = flask_dir()
    rows: list[tuple[str, str]] = []

    clear_cache(DJANGO)
    cold, tokens = timed(lambda: token_count(DJANGO))
    warm, _ = timed(lambda: token_count(DJANGO))
    rows.append(("Django token count (o200k), cold", f"{cold:.2f} s  ({tokens / 1e6:.2f}M tokens; target ≤ 4 s)"))
    rows.append(("Django token count, warm", f"{warm:.2f} s  (target ≤ 0.5 s)"))

    clear_cache(DJANGO)
    map_cold, (cold_builder, plan) = timed(lambda: repo_map(DJANGO))
    cold_builder.wait()
    touched = DJANGO / "django/contrib/admin/actions.py"
    original = touched.read_text()
    touched.write_text(original + "\n# touched\n")
    try:
        map_warm, (builder, _) = timed(lambda: repo_map(DJANGO))
        builder.wait()
    finally:
        touched.write_text(original)
    position = plan.mapped.index(EXPECTED_NEAR_TOP) + 1 if EXPECTED_NEAR_TOP in plan.mapped else None
    map_tokens = count_o200k(plan.text.split("</repo_map>")[0])
    rows.append(("Django repo map, cold", f"{map_cold:.2f} s  (map {map_tokens:,} tokens, {len(plan.mapped)} files; "
                                          f"{EXPECTED_NEAR_TOP} ranks #{position}; target ≤ 5 s)"))
    rows.append(("Django repo map, warm (1 file changed)",
                 f"{map_warm:.2f} s  ({builder.tags.parsed} file re-parsed; target ≤ 0.5 s)"))

    clear_cache(flask)
    pack_flask, flask_plan = timed(lambda: ContextBuilder(flask, config_for(flask)).plan("deepseek-v4-flash"))
    rows.append(("Flask full pack, cold", f"{pack_flask:.2f} s  ({flask_plan.kind}, {flask_plan.tokens:,} tokens; "
                                          "target ≤ 0.5 s)"))

    def pack_django() -> int:
        scan = scan_workspace(DJANGO)
        return count_o200k(render_pack(DJANGO.name, scan.files, Redactor()))

    ours, django_pack_tokens = timed(pack_django)
    theirs = repomix(DJANGO)
    rows.append(("Django full pack (render + count), cold",
                 f"{ours:.2f} s ({django_pack_tokens / 1e6:.2f}M tokens)"
                 + (f"; repomix {theirs:.2f} s → {theirs / ours:.1f}× faster" if theirs
                    else "; repomix not installed")))
    theirs_flask = repomix(flask)
    if theirs_flask:
        rows.append(("Flask pack: repomix cold",
                     f"{theirs_flask:.2f} s → ours {theirs_flask / pack_flask:.1f}× faster"))

    result = aider(args.aider_python, DJANGO)
    if result:
        inner, whole, tokens_aider = result
        rows.append(("Aider RepoMap of Django, cold", f"{inner:.1f} s in get_repo_map ({whole:.1f} s process), "
                                                      f"{tokens_aider:,} tokens → ours {inner / map_cold:.1f}× faster"))
    else:
        rows.append(("Aider RepoMap of Django", "not measured (pass --aider-python)"))

    ratios = asyncio.run(prefix_session(flask))
    rows.append(("Prompt prefix kept, 20-turn session on Flask",
                 f"min {min(ratios):.1%}, median {sorted(ratios)[len(ratios) // 2]:.1%} of each request "
                 "repeats the previous one byte for byte (target ≥ 95%)"))

    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(json.dumps({"cpu_count": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
