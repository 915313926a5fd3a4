"""The live spend panel: per model calls, tokens and dollars, the session total against the budget,
and the context in use against the current model's window. Always visible."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from agent.spend.counterfactual import counterfactual_lines
from agent.views.spend import SpendFold


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


def _calls(n: int) -> str:
    return f"{n} call{'' if n == 1 else 's'}"


class SpendPanel(Vertical):
    """Attributes down: the app hands it the spend fold of the event stream (agent.views.spend)."""

    def compose(self) -> ComposeResult:
        self._table: Text | None = None  # what the table shows now
        yield Label("Spend", classes="panel-title")
        yield Static(id="spend-table")
        yield Label("", id="total")
        yield Label("budget", id="budget-label")
        yield Label("", id="budget")
        yield Label("context", id="context-label")
        yield Label("", id="context")
        yield Label("", id="route")
        yield Label("", id="counterfactual")

    def show(self, spend: SpendFold) -> None:
        lines = Text()
        estimate = spend.estimate
        models = spend.shown_models()
        for name, (billed, dollars) in models.items():
            live = estimate is not None and estimate[0] == name
            lines.append(f"{name}\n", style="bold")
            lines.append(f"  {_calls(billed.calls if billed else 0)}  ")
            if billed is not None and not billed.priced:
                lines.append("no price\n", style="yellow")
            else:
                lines.append(("~" if live else "") + f"${dollars:.4f}", style="green")
                # Marked: a running estimate, or billed figures that include estimated calls (usage never came).
                estimated = billed.estimated_calls if billed else 0
                mark = " est." if live else f" ({estimated} est.)" if estimated else ""
                lines.append(mark + "\n", style="dim")
            if billed:
                lines.append(f"  in {_tokens(billed.input_tokens)} (hit {_tokens(billed.cache_hit_tokens)})"
                             f" out {_tokens(billed.output_tokens)}\n", style="dim")
        if not models:
            lines.append("no calls yet\n", style="dim")
        if lines != self._table:  # a redraw that changes nothing asks for no new layout
            self._table = lines
            self.query_one("#spend-table", Static).update(lines)
        total = spend.shown_total_usd
        unpriced = spend.unpriced_models()
        note = " est." if estimate else " billed"
        note += f"; no price: {', '.join(unpriced)}" if unpriced else ""
        self.query_one("#total", Label).update(Text(f"session {'~' if estimate else ''}${total:.4f}{note}",
                                                    style="bold"))
        budget = self.query_one("#budget", Label)
        if spend.budget_usd:
            self.query_one("#budget-label", Label).update(f"budget ${spend.budget_usd}")
            budget.update(bar(float(total) / float(spend.budget_usd)))
        else:
            self.query_one("#budget-label", Label).update("budget: none set")
            budget.update("")
        self.query_one("#context-label", Label).update(
            f"context {_tokens(spend.context_tokens)} / {_tokens(spend.context_window)}")
        self.query_one("#context", Label).update(bar(_fraction(spend)))
        route = f"{spend.model}: {spend.route}" if spend.route else ""
        self.query_one("#route", Label).update(Text(route, style="italic"))
        view = spend.counterfactual()
        self.query_one("#counterfactual", Label).update(
            Text("\n".join(counterfactual_lines(view)[1:]), style="dim") if view else "")


def _fraction(spend: SpendFold) -> float:
    return spend.context_tokens / spend.context_window if spend.context_window else 0.0


class SpendBar(Static):
    """The spend panel folded into one line, for terminals under 100 columns: total, dollars per model, and
    the context gauge."""

    def show(self, spend: SpendFold) -> None:
        line = Text()
        line.append(f"{'~' if spend.estimate else ''}${spend.shown_total_usd:.4f}", style="bold")
        if spend.budget_usd:
            line.append(f" of ${spend.budget_usd}", style="dim")
        for name, (_billed, dollars) in spend.shown_models().items():
            line.append(f" · {name} ", style="dim")
            line.append(f"${dollars:.4f}", style="green")
        line.append(" · ctx ", style="dim")
        line.append_text(bar(_fraction(spend), width=8))
        self.update(line)
