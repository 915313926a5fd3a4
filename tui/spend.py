"""The live spend panel: per model calls, tokens and dollars, the session total against the budget,
and the context in use against the current model's window. Always visible."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from agent.interactive import SpendView


def _tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


BAR_WIDTH = 20


def bar(fraction: float, width: int = BAR_WIDTH) -> Text:
    """A text gauge: green, then yellow past 75%, red past 90%."""
    fraction = max(0.0, min(fraction, 1.0))
    filled = round(fraction * width)
    style = "red" if fraction > 0.9 else "yellow" if fraction > 0.75 else "green"
    gauge = Text("█" * filled, style=style)
    gauge.append("░" * (width - filled), style="dim")
    gauge.append(f" {fraction:4.0%}")
    return gauge


class SpendPanel(Vertical):
    """Attributes down: the app hands it a SpendView (and a running estimate while a reply streams)."""

    def compose(self) -> ComposeResult:
        yield Label("Spend", classes="panel-title")
        yield Static(id="spend-table")
        yield Label("", id="total")
        yield Label("budget", id="budget-label")
        yield Label("", id="budget")
        yield Label("context", id="context-label")
        yield Label("", id="context")
        yield Label("", id="route")

    def show(self, view: SpendView, estimate: tuple[str, Decimal] | None = None) -> None:
        lines = Text()
        models = dict(sorted(view.models.items()))
        if estimate is not None and estimate[0] not in models:
            models[estimate[0]] = None  # type: ignore[assignment]
        for name, spend in models.items():
            live = estimate is not None and estimate[0] == name
            dollars = (spend.cost_usd if spend else Decimal(0)) + (estimate[1] if live and estimate else 0)
            lines.append(f"{name}\n", style="bold")
            lines.append(f"  {spend.calls if spend else 0} calls  ")
            if spend is not None and not spend.priced:
                lines.append("no price\n", style="yellow")
            else:
                lines.append(("~" if live else "") + f"${dollars:.4f}", style="green")
                # Marked: a running estimate, or billed figures that include estimated calls (usage never came).
                estimated = spend.estimated_calls if spend else 0
                mark = " est." if live else f" ({estimated} est.)" if estimated else ""
                lines.append(mark + "\n", style="dim")
            if spend:
                lines.append(f"  in {_tokens(spend.input_tokens)} (hit {_tokens(spend.cache_hit_tokens)})"
                             f" out {_tokens(spend.output_tokens)}\n", style="dim")
        if not models:
            lines.append("no calls yet\n", style="dim")
        self.query_one("#spend-table", Static).update(lines)
        total = view.total_usd + (estimate[1] if estimate else 0)
        unpriced = [name for name, spend in view.models.items() if not spend.priced]
        note = " est." if estimate else " billed"
        note += f"; no price: {', '.join(unpriced)}" if unpriced else ""
        self.query_one("#total", Label).update(Text(f"session {'~' if estimate else ''}${total:.4f}{note}",
                                                    style="bold"))
        budget = self.query_one("#budget", Label)
        if view.budget_usd:
            self.query_one("#budget-label", Label).update(f"budget ${view.budget_usd}")
            budget.update(bar(float(total) / float(view.budget_usd)))
        else:
            self.query_one("#budget-label", Label).update("budget: none set")
            budget.update("")
        self.query_one("#context-label", Label).update(
            f"context {_tokens(view.context_tokens)} / {_tokens(view.context_window)}")
        self.query_one("#context", Label).update(bar(view.context_tokens / view.context_window))

    def route(self, model: str, reason: str) -> None:
        self.query_one("#route", Label).update(Text(f"{model}: {reason}", style="italic"))


class SpendBar(Static):
    """The spend panel folded into one line, for terminals under 100 columns: total, dollars per model, and
    the context gauge."""

    def show(self, view: SpendView, estimate: tuple[str, Decimal] | None = None) -> None:
        total = view.total_usd + (estimate[1] if estimate else 0)
        line = Text()
        line.append(f"{'~' if estimate else ''}${total:.4f}", style="bold")
        if view.budget_usd:
            line.append(f" of ${view.budget_usd}", style="dim")
        models = {name: spend.cost_usd for name, spend in sorted(view.models.items())}
        if estimate is not None:
            models[estimate[0]] = models.get(estimate[0], Decimal(0)) + estimate[1]
        for name, dollars in models.items():
            line.append(f" · {name} ", style="dim")
            line.append(f"${dollars:.4f}", style="green")
        line.append(" · ctx ", style="dim")
        line.append_text(bar(view.context_tokens / view.context_window, width=8))
        self.update(line)
