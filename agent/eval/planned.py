"""`plan.json` beside results.jsonl: every run the whole eval planned (before `--shard` picked its slice), so
`eval merge` can tell a complete merge from one missing a shard."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agent.eval.plan import RunKey

PLAN_FILE = "plan.json"


def write_plan(out_dir: Path, runs: list[RunKey]) -> None:
    """Record the whole eval's plan (written aside, then renamed)."""
    path = out_dir / PLAN_FILE
    temp = path.with_name(PLAN_FILE + ".tmp")
    temp.write_text(json.dumps({"runs": [[k.task, k.config, k.repeat] for k in runs]}), encoding="utf-8")
    os.replace(temp, path)


def read_plan(out_dir: Path) -> set[RunKey] | None:
    """The runs planned by the eval that wrote `out_dir`; None when it has no readable plan."""
    try:
        data = json.loads((out_dir / PLAN_FILE).read_text(encoding="utf-8"))
        return {RunKey(str(t), str(c), int(r)) for t, c, r in data["runs"]}
    except (OSError, ValueError, TypeError, KeyError):
        return None
