"""Small inline SVG charts drawn by hand (no library, no network): stacked bars, horizontal bars, lines.

Every mark carries its figure in a data attribute, so a test can read back exactly what the page shows.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 16, 40


# C0/C1 controls, DEL, and the bidi embeddings, overrides and isolates that reorder what a reader sees.
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """`text` for HTML or SVG (text or an attribute): markup escaped, and every control or bidi character shown
    as a visible `\\x1b` / `\\u202e` escape, so a model name or price source from an untrusted row can neither
    break the page nor hide or reorder what it says."""
    return _HIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else
                       f"\\u{ord(m.group()):04x}", html.escape(text))


def color_of(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _money(value: Decimal | float) -> str:
    return f"${float(value):.4f}" if value < 1 else f"${float(value):,.2f}"


def _fine_money(value: Decimal) -> str:
    """Dollars with enough digits to tell a cheap model's runs apart ($0.000180, not $0.0002)."""
    return f"${float(value):,.2f}" if value >= 1 else f"${float(value):.4f}" if value >= Decimal("0.001") else \
        f"${float(value):.6f}"


def _legend(names: Sequence[str], colors: Mapping[str, str]) -> str:
    items = []
    for i, name in enumerate(names):
        y = TOP + 8 + i * 18
        items.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{y - 9}" width="10" height="10" fill="{colors[name]}"/>'
                     f'<text x="{WIDTH - RIGHT + 28}" y="{y}" font-size="11">{escape(name)}</text>')
    return "".join(items)


def _axis(top: Decimal) -> str:
    """A y axis from 0 to `top` with three labelled gridlines."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for k in range(4):
        y = TOP + plot_h - plot_h * k / 3
        value = top * k / 3
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{_money(value)}</text>')
    return "".join(parts)


def _svg(body: str, label: str, height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="sans-serif">'
            f"{body}</svg>")


def stacked_bars(columns: Mapping[str, Mapping[str, Decimal]], colors: Mapping[str, str], label: str) -> str:
    """One bar per column (a day), stacked by series (a model)."""
    if not columns:
        return "<p>No priced calls yet.</p>"
    names = sorted({name for stack in columns.values() for name in stack})
    top = max(sum(stack.values(), Decimal(0)) for stack in columns.values()) or Decimal(1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(columns)
    bar_w = max(min(step * 0.7, 60), 2)
    parts = [_axis(top)]
    for i, (column, stack) in enumerate(columns.items()):
        x = LEFT + i * step + (step - bar_w) / 2
        base = float(TOP + plot_h)
        for name in names:
            value = stack.get(name, Decimal(0))
            if value <= 0:
                continue
            h = float(value / top) * plot_h
            base -= h
            parts.append(_bar(x, base, bar_w, h, colors[name], column, name, value))
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                     f'text-anchor="middle">{escape(column[5:] if len(columns) > 1 else column)}</text>')
    parts.append(_legend(names, colors))
    return _svg("".join(parts), label)


def _bar(x: float, y: float, width: float, height: float, color: str, column: str, series: str,
         value: Decimal) -> str:
    """One bar of dollars, with the data a test or a reader can find it by and a tooltip."""
    return (f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{color}" '
            f'data-column="{escape(column)}" data-series="{escape(series)}" data-usd="{value}">'
            f"<title>{escape(column)} {escape(series)}: {_money(value)}</title></rect>")


def share_bars(shares: Mapping[str, tuple[int, int]], colors: Mapping[str, str], label: str) -> str:
    """One horizontal bar per series: part / whole (cache-hit tokens / input tokens)."""
    if not shares:
        return "<p>No calls yet.</p>"
    row_h = 26
    height = TOP + row_h * len(shares) + 10
    bar_max = WIDTH - LEFT - 100 - 230  # room on the right for "97.5% (390,000 of 400,000)"
    parts = []
    for i, (name, (part, whole)) in enumerate(shares.items()):
        y = TOP + i * row_h
        share = part / whole if whole else 0.0
        parts.append(f'<text x="{LEFT + 90}" y="{y + 15}" font-size="11" text-anchor="end">{escape(name)}</text>'
                     f'<rect x="{LEFT + 100}" y="{y + 4}" width="{bar_max}" height="16" fill="#eee"/>'
                     f'<rect class="share" x="{LEFT + 100}" y="{y + 4}" width="{bar_max * share:.1f}" height="16" '
                     f'fill="{colors[name]}" data-series="{escape(name)}" data-part="{part}" data-whole="{whole}"/>'
                     f'<text x="{LEFT + 106 + bar_max}" y="{y + 16}" font-size="11">{share:.1%} '
                     f"({part:,} of {whole:,})</text>")
    return _svg("".join(parts), label, height)


def lines(columns: Sequence[str], series: Mapping[str, Sequence[Decimal]], colors: Mapping[str, str],
          label: str) -> str:
    """One polyline per series over the columns (days), with a dot carrying each value."""
    if not columns:
        return "<p>No priced calls yet.</p>"
    top = max((v for values in series.values() for v in values), default=Decimal(0)) or Decimal(1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(columns) - 1, 1)
    parts = [_axis(top)]
    for name, values in series.items():
        points = []
        for i, value in enumerate(values):
            x = LEFT + (i * step if len(columns) > 1 else plot_w / 2)
            y = TOP + plot_h - float(value / top) * plot_h
            points.append((x, y))
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors[name]}" '
                         f'data-series="{escape(name)}" data-column="{escape(columns[i])}" data-usd="{value}">'
                         f"<title>{escape(columns[i])} {escape(name)}: {_money(value)}</title></circle>")
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colors[name]}" stroke-width="2"/>')
    for i, column in enumerate(columns):
        x = LEFT + (i * step if len(columns) > 1 else plot_w / 2)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle">'
                     f"{escape(column[5:])}</text>")
    parts.append(_legend(list(series), colors))
    return _svg("".join(parts), label)


def _log_span(costs: Sequence[Decimal]) -> tuple[float, float]:
    """The decades (log10 of dollars) a log-scale axis spans: whole powers of ten around every positive cost."""
    positive = [float(c) for c in costs if c > 0] or [1.0]
    low, high = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    return float(low), float(max(high, low + 1))


def _x_log_axis(low: float, high: float) -> str:
    """An x axis of dollars on a log scale, a labelled tick at each power of ten (and 2x, 5x between them)."""
    plot_w = WIDTH - LEFT - RIGHT
    parts = []
    for decade in range(int(low), int(high) + 1):
        for step in (1, 2, 5):
            at = math.log10(step) + decade
            if at > high + 1e-9:
                break
            x = LEFT + (at - low) / (high - low) * plot_w
            label = f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle">' \
                    f"${Decimal(10) ** decade:f}</text>" if step == 1 else ""
            parts.append(f'<line class="tick" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
                         f'stroke="{"#ddd" if step == 1 else "#f2f2f2"}"/>{label}')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle">'
                 "mean cost per run (log scale)</text>")
    return "".join(parts)


def scatter(points: Mapping[str, tuple[Decimal, float]], front: Sequence[str], colors: Mapping[str, str],
            label: str) -> str:
    """One dot per series at (dollars, share 0..1), dollars on a log scale (a model ten times cheaper sits a
    decade to the left, not on the same pixel) and each dot labelled with its dollars; the series in `front`
    (in order) are ringed and joined by a dashed line: the Pareto front."""
    if not points:
        return "<p>No runs yet.</p>"
    low, high = _log_span([cost for cost, _ in points.values()])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(cost: Decimal, share: float) -> tuple[float, float]:
        where = math.log10(float(cost)) if cost > 0 else low  # a free run sits on the axis's left edge
        return LEFT + (where - low) / (high - low) * plot_w, TOP + plot_h - share * plot_h

    parts = [_x_log_axis(low, high)]
    for k in range(5):
        y = TOP + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{k * 25}%</text>')
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(*points[name]) for name in front if name in points))
    if path:
        parts.append(f'<polyline class="pareto-front" points="{path}" fill="none" stroke="#555" '
                     f'stroke-dasharray="4 3" data-series="{escape(" ".join(front))}"/>')
    for i, (name, (cost, share)) in enumerate(points.items()):
        x, y = at(cost, share)
        on_front = name in front
        ring = (f'<circle class="pareto" cx="{x:.1f}" cy="{y:.1f}" r="9" fill="none" stroke="#222" '
                f'data-series="{escape(name)}"/>') if on_front else ""
        parts.append(f'{ring}<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colors[name]}" '
                     f'data-series="{escape(name)}" data-usd="{cost}" data-share="{share}" '
                     f'data-front="{str(on_front).lower()}"><title>{escape(name)}: {share:.0%} at '
                     f"{_money(cost)}</title></circle>"
                     f'<text class="dot-label" x="{x + 8:.1f}" y="{y - 8 - 11 * (i % 2):.1f}" font-size="10" '
                     f'fill="{colors[name]}">{_fine_money(cost)}</text>')
    parts.append(_legend(list(points), colors))
    return _svg("".join(parts), label)


def grouped_bars(groups: Mapping[str, Mapping[str, Decimal | None]], colors: Mapping[str, str],
                 label: str) -> str:
    """One group per column (a tag), one bar per series (a configuration); a None value (nothing to divide by)
    leaves a gap marked "–"."""
    if not groups:
        return "<p>No runs yet.</p>"
    names = sorted({name for bars in groups.values() for name in bars})
    values = [v for bars in groups.values() for v in bars.values() if v is not None]
    top = max(values, default=Decimal(0)) or Decimal(1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(groups)
    bar_w = max(min(step * 0.8 / max(len(names), 1), 40), 2)
    parts = [_axis(top)]
    for i, (column, bars) in enumerate(groups.items()):
        left = LEFT + i * step + (step - bar_w * len(names)) / 2
        for j, name in enumerate(names):
            x = left + j * bar_w
            value = bars.get(name)
            if value is None:
                if name in bars:
                    parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{TOP + plot_h - 3}" font-size="10" '
                                 f'text-anchor="middle">–</text>')
                continue
            h = float(value / top) * plot_h
            parts.append(_bar(x, TOP + plot_h - h, bar_w, h, colors[name], column, name, value))
        parts.append(f'<text x="{LEFT + i * step + step / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                     f'text-anchor="middle">{escape(column)}</text>')
    parts.append(_legend(names, colors))
    return _svg("".join(parts), label)
