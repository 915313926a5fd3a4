"""`agent demo`: the real loop and real tools on a sample repository, against a scripted fake model."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

DEMO_REPO = "py_calc"
DEMO_SCRIPT = "fix_py_calc.json"
BANNER = ("SCRIPTED DEMO: no real model is called. A fake DeepSeek endpoint on 127.0.0.1 plays a recorded "
          "session;\nthe loop, tools, test runs, transcript and spend figures are all real.")


def copy_repo(name: str, dest: Path) -> Path:
    """A fresh git repository holding the sample `name` (committed, so checkpoints and undo work)."""
    from agent.checkpoint import IDENTITY
    from agent.gitsafe import import_gitpython
    from fixtures import REPOS_DIR

    target = dest / name
    shutil.copytree(REPOS_DIR / name, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    git = import_gitpython(target)
    repo = git.Repo.init(target)
    repo.git.add("-A")
    repo.git.commit("-m", "sample repository", "--no-verify", env=IDENTITY)
    return target


async def run_demo(args: argparse.Namespace) -> int:
    from agent.cli.headless import run_headless
    from fixtures import SCRIPTS_DIR
    from fixtures.fakeapi import FakeAPI, Script

    tmp = Path(tempfile.mkdtemp(prefix="duet-demo-"))
    try:
        workspace = copy_repo(DEMO_REPO, tmp)
        if args.output == "text":
            print(f"{BANNER}\nsample repository: {workspace}\n", flush=True)
        with FakeAPI(Script.load(SCRIPTS_DIR / DEMO_SCRIPT)) as server:
            environ = dict(os.environ, DEEPSEEK_BASE_URL=server.base_url, DEEPSEEK_API_KEY="demo-key-not-secret")
            run_args = argparse.Namespace(
                command="fix-tests", workspace=str(workspace), model="deepseek-v4-pro", route=None,
                approval="full-auto", max_turns=None, max_cost=None, timeout=300.0, output=args.output,
                commit=False, rounds=1, task=None, image=[],
                test_cmd=f"{shlex.quote(sys.executable)} -m unittest discover -s tests -q")
            return await run_headless(run_args, environ)
    finally:
        if args.keep:
            print(f"kept the sample repository in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
