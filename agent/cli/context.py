"""`agent context`: what Duet would put in the prompt for a model, and what that costs per turn.

One plan per run (for the chosen model); the other models' rows come from the same scan and cached counts.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from agent.cli.outpath import output_path, write_refusal
from agent.config import load_config
from agent.context.plan import ContextBuilder, ContextPlan
from agent.errors import DuetError
from agent.redact import Redactor
from agent.router import Router
from agent.routing.auto import route_without_task
from agent.spend.prices import cost_usd
from tools.atomic import atomic_write_bytes
from tools.beneath import LinkRefused


def run_context(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).resolve()
    config = route_without_task(load_config(workspace), workspace)  # `route = "auto"`: the policy's default
    model = args.model or Router(config).main().model
    config.model_spec(model)  # a clear error for an unknown model
    if args.whole and not args.out:
        raise DuetError("--whole packs the whole workspace into a file: give it --out FILE")
    out = output_path(args.out, f"--out {args.out}") if args.out else None
    # Text that leaves (--out) is redacted as a session's is: the values of the workspace's secret files too.
    # Without --out nothing is shown, and a cached map is redacted again by the session that uses it.
    redact = Redactor.for_run(workspace, config.secret_file_list(),
                              key_variables=[p.api_key_env for p in config.providers.values()]) if out else None
    builder = ContextBuilder(workspace, config, redact)
    previous = signal.signal(signal.SIGTERM, _terminated)  # cleans up (the temporary file, a child) on the way out
    try:
        plan = builder.plan(model, args.hint or [], exact=args.exact, whole=args.whole,
                            out=out if args.whole else None)  # an export is written as it is made
        if out is not None and not args.whole:
            atomic_write_bytes(out, plan.text.encode())
    except LinkRefused as exc:
        if out is None:
            raise
        raise write_refusal(out, exc) from None
    except OSError as exc:
        if out is None or not str(exc.filename or "").startswith(str(out.parent)):
            raise
        raise write_refusal(out, exc) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    lines = [f"workspace: {workspace}", _headline(plan)]
    if plan.kind == "map":
        lines.append(f"  map of {len(plan.mapped)} files; whole files after it: {len(plan.packed)}")
    if plan.in_play:
        lines.append("  files in play: " + ", ".join(plan.in_play[:10]))
    reasons = Counter(s.reason for s in plan.skipped)
    lines.append(f"  skipped {len(plan.skipped)} files: "
                 + (", ".join(f"{n} {r}" for r, n in reasons.most_common()) or "none"))
    if args.explain:
        for label, paths in (("packed", plan.packed), ("mapped", plan.mapped)):
            if paths:
                lines += ["", f"{label}:", *(f"  {p}" for p in paths)]
        if plan.skipped:
            lines += ["", "skipped:", *(f"  {s.path}: {s.reason}" for s in plan.skipped)]
    lines += ["", *_cost_table(builder, config, plan)]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _cost_table(builder: ContextBuilder, config, plan: ContextPlan) -> list[str]:  # type: ignore[no-untyped-def]
    """Rows for every priced model: this plan's figure for its model, an estimate from the same scan for the
    others (`≤` a map's budget, `~` a pack's cached counts plus bytes / 4)."""
    rows = [("model", "tokens", "uncached turn", "cached turn")]
    prices = config.price_table()
    for name in config.models:
        price = prices.price_for(name)
        if price is None:
            continue
        if name == plan.model:
            tokens, mark = plan.tokens, "" if plan.exact else "≤"
        else:
            estimate = builder.estimate(name)
            tokens, mark = estimate.tokens, "≤" if estimate.upper_bound else "~"
        rows.append((name, f"{mark}{tokens:,}", _usd(cost_usd(price, cache_miss=tokens, cache_hit=0, output=0)),
                     _usd(cost_usd(price, cache_miss=0, cache_hit=tokens, output=0))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = ["One turn with this context (context only, before the conversation); "
           f"{plan.model}'s row is this plan, the others are estimated from the same scan:"]
    for i, row in enumerate(rows):
        cells = (c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True)))
        out.append("  " + "  ".join(cells))
        if i == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _headline(plan: ContextPlan) -> str:
    if plan.kind == "pack":
        what = "the whole workspace is packed"
    elif plan.pack_budget == 0:
        what = "ranked repo map (this model's window is too small to be given whole workspaces)"
    else:
        what = f"the workspace does not fit the {plan.pack_budget:,}-token pack budget: ranked repo map"
    approx = "~" if plan.workspace_estimated else ""
    unit = "tokens" if plan.exact else "tokens (estimated high: o200k × 1.12; --exact counts them)"
    return (f"{plan.model}: {what}; workspace {approx}{plan.workspace_tokens:,} tokens, context {plan.tokens:,} "
            f"{unit} (budget {plan.budget:,})")


def _usd(value: Decimal) -> str:
    return f"${value:.4f}"
