"""`agent init`: propose a starter AGENTS.md, show it, and write it only when the user agrees."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.errors import ConfigError
from agent.instructions.starter import starter_agents_md
from tools.atomic import atomic_write_bytes


def run_init(args: argparse.Namespace) -> int:
    root = Path(args.workspace).resolve()
    if not root.is_dir():
        raise ConfigError(f"{args.workspace}: no such directory")
    target = root / "AGENTS.md"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} already exists; not overwriting it (rerun with --force to replace it)")
    text = starter_agents_md(root)
    print(text, end="")
    print("---")
    verb = "replace" if target.exists() else "write"
    if not args.yes:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            print(f"not written: rerun with --yes to {verb} {target}")
            return 0
        answer = input(f"{verb.capitalize()} {target}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not written")
            return 0
    atomic_write_bytes(target, text.encode("utf-8"))
    print(f"{'replaced' if verb == 'replace' else 'wrote'} {target}")
    return 0
