"""`agent review [--base REF]`: the review model's verdict on the current diff alone (no driver, no plan).
Exit 0 approve, 1 changes requested (or no verdict), 2 bad input (no git work tree, unknown REF, no diff)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built on every `agent` start: the rest loads only for a review
    from agent.config import Config
    from agent.events import Event, ReviewDone
    from agent.router import Route

APPROVED, CHANGES, BAD_INPUT = 0, 1, 2


def add_review_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="the review model's verdict on the current diff (exit 0 approve, "
                                           "1 changes requested, 2 bad input)")
    review.add_argument("--base", default="HEAD", metavar="REF", help="review the work tree against REF "
                        "(default: HEAD, i.e. the uncommitted changes)")
    review.add_argument("-C", "--workspace", metavar="DIR", help="repository to review (default: the git root)")
    review.add_argument("--model", help="the reviewing model (default: the route's review model)")
    review.add_argument("--route", metavar="NAME", help="the profile whose review model reviews")
    review.add_argument("--task", default="", help="what the change was meant to do")
    review.add_argument("--max-cost", type=float, metavar="USD", help="budget in dollars for the review")
    review.add_argument("--output", choices=["text", "json"], default="text")


def reviewer(config: Config) -> Route:
    """`--model`, else the route's review model, else the duet profile's, else the route's driver."""
    from agent.router import Route

    if config.model:
        return Route(config.model, "pinned with --model", "review")
    route = config.route_profile()
    model = route.review or (config.routes["duet"].review if "duet" in config.routes else None) or route.execute
    return Route(model, f"reviews in the {config.route!r} profile", "review")


def run_review(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    return asyncio.run(_review(args, environ))


async def _review(args: argparse.Namespace, environ: Mapping[str, str] | None) -> int:
    from agent.config import load_config
    from agent.duet.review import ReviewBrief, findings_text, review_change
    from agent.duet.shaped import DiffError, workspace_diff
    from agent.duet.sidecall import SideCalls
    from agent.errors import ConfigError
    from agent.events import Notice
    from agent.modelcall import ModelCaller
    from agent.router import Router
    from agent.runtime import ProviderPool
    from agent.session import Session
    from agent.workspace import find_workspace

    workspace = find_workspace(args.workspace, Path.cwd())
    if not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} is not a directory (-C)")
    config = load_config(workspace, {"model": args.model, "route": args.route, "max_cost": args.max_cost},
                         environ)
    route = reviewer(config)
    config.api_key_of(route.model, environ)  # the key first: nothing is read or spent without it
    try:
        diff, paths = await asyncio.to_thread(workspace_diff, workspace, args.base)
    except DiffError as exc:
        print(f"agent review: {exc}", file=sys.stderr)
        return BAD_INPUT
    if not diff.strip():
        print(f"agent review: nothing to review: no changes against {args.base}", file=sys.stderr)
        return BAD_INPUT

    def sink(event: Event) -> None:
        if isinstance(event, Notice) and event.level != "info":
            print(f"agent: {event.level}: {event.message}", file=sys.stderr)

    session = Session(workspace, config, sink=sink)
    pool = ProviderPool(config, session, environ)
    try:
        budget = Decimal(str(config.max_cost)) if config.max_cost is not None else None
        side = SideCalls(session, ModelCaller(session, pool), Router(config, pool.usable), budget)
        done: ReviewDone = await review_change(side, route, ReviewBrief(args.task, diff, paths))
    finally:
        await pool.aclose()
        session.close()
    if args.output == "json":
        print(json.dumps({"verdict": done.verdict, "model": done.model, "detail": done.detail,
                          "findings": [f.model_dump() for f in done.findings],
                          "cost_usd": str(session.ledger.total_usd)}, indent=2))
    else:
        print(f"{done.model}: {done.verdict.replace('_', ' ')}" + (f" ({done.detail})" if done.detail else ""))
        if done.findings:
            print(findings_text(done.findings))
    return APPROVED if done.verdict == "approve" else CHANGES
