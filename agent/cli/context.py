"""`agent context`: what Duet would put in the prompt for a model, and what that costs per turn."""

from __future__ import annotations

import argparse
from collections import Counter
from decimal import Decimal
from pathlib import Path

from agent.config import load_config
from agent.context.plan import ContextBuilder, ContextPlan
from agent.router import Router
from agent.spend.prices import cost_usd


def run_context(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    workspace = Path(args.workspace).resolve()
    config = load_config(workspace)
    model = args.model or Router(config).main().model
    config.model_spec(model)  # a clear error for an unknown model
    builder = ContextBuilder(workspace, config)
    plan = builder.plan(model, args.hint or [])
    console = Console(highlight=False)
    console.print(_headline(plan), markup=False)
    if plan.kind == "map":
        console.print(f"  map of {len(plan.mapped)} files; whole files after it: {len(plan.packed)}", markup=False)
    if plan.in_play:
        console.print("  files in play: " + ", ".join(plan.in_play[:10]), markup=False)
    reasons = Counter(s.reason for s in plan.skipped)
    console.print(f"  skipped {len(plan.skipped)} files: " + (", ".join(f"{n} {r}" for r, n in reasons.most_common())
                                                               or "none"), markup=False)
    if args.explain:
        for label, paths in (("packed", plan.packed), ("mapped", plan.mapped)):
            if paths:
                console.print(f"\n{label}:", markup=False)
                console.print("\n".join(f"  {p}" for p in paths), markup=False)
        if plan.skipped:
            console.print("\nskipped:", markup=False)
            console.print("\n".join(f"  {s.path}: {s.reason}" for s in plan.skipped), markup=False)
    table = Table(title="\nOne turn with this context (context only, before the conversation)", title_justify="left")
    for column in ("model", "tokens", "uncached turn", "cached turn"):
        table.add_column(column, justify="left" if column == "model" else "right")
    prices = config.price_table()
    for name in config.models:
        price = prices.price_for(name)
        if price is None:
            continue
        tokens = builder.plan(name, args.hint or []).tokens if name != model else plan.tokens
        table.add_row(name, f"{tokens:,}", _usd(cost_usd(price, cache_miss=tokens, cache_hit=0, output=0)),
                      _usd(cost_usd(price, cache_miss=0, cache_hit=tokens, output=0)))
    console.print(table)
    return 0


def _headline(plan: ContextPlan) -> str:
    what = ("the whole workspace is packed" if plan.kind == "pack"
            else "the workspace does not fit the pack budget: ranked repo map")
    approx = "~" if plan.workspace_estimated else ""
    return (f"{plan.model}: {what}; workspace {approx}{plan.workspace_tokens:,} tokens, context {plan.tokens:,} "
            f"tokens (budget {plan.budget:,})")


def _usd(value: Decimal) -> str:
    return f"${value:.4f}"
