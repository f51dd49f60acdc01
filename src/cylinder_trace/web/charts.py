"""Charts drawn on the server as inline SVG: no script, no chart library, nothing fetched.

Every text is escaped; colours and fonts come from the page's stylesheet (classes ``chart-*``), so the
Content-Security-Policy needs no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    #: where a click on the bar leads (a filtered list), if anywhere
    href: str | None = None


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (at least 1): the top of a value axis."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _svg(width: int, height: int, title: str, body: str, css: str) -> Markup:
    return Markup(
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>')


def _linked(bar: Bar, inner: str) -> str:
    return f'<a href="{escape(bar.href)}">{inner}</a>' if bar.href else inner


def column_chart(bars: Sequence[Bar], title: str, *, width: int = 640, height: int = 220) -> Markup:
    """Vertical bars side by side (a value per day), the value above each bar, the label under it."""
    top, bottom, left, right = 22, 30, 34, 8
    plot_h = height - top - bottom
    plot_w = width - left - right
    ceiling = nice_ceiling(max((b.value for b in bars), default=0))
    parts: list[str] = []
    for tick in (0, ceiling // 2 if ceiling > 1 else None, ceiling):
        if tick is None:
            continue
        y = top + plot_h - plot_h * tick / ceiling
        parts.append(f'<line class="chart-grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="chart-axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    slot = plot_w / max(len(bars), 1)
    every = max(1, math.ceil(len(bars) / 8))  # at most ~8 labels under the axis
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / ceiling
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        rect = (f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
                f'<title>{escape(bar.label)}: {bar.value}</title></rect>')
        if bar.value:
            rect += (f'<text class="chart-value" x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" '
                     f'text-anchor="middle">{bar.value}</text>')
        parts.append(_linked(bar, rect))
        if i % every == 0 or i == len(bars) - 1:
            parts.append(f'<text class="chart-axis" x="{x + slot * 0.35:.1f}" y="{height - 10}" '
                         f'text-anchor="middle">{escape(bar.label)}</text>')
    return _svg(width, height, title, "".join(parts), "chart-columns")


def bar_chart(bars: Sequence[Bar], title: str, *, width: int = 640, row: int = 36) -> Markup:
    """Horizontal bars, one per row, the label above its bar and the value at its end."""
    left, right = 4, 48
    height = max(row * len(bars), row) + 6
    ceiling = max((b.value for b in bars), default=0) or 1
    parts: list[str] = []
    for i, bar in enumerate(bars):
        y = i * row + 4
        w = (width - left - right) * bar.value / ceiling
        parts.append(_linked(bar, (
            f'<text class="chart-label" x="{left}" y="{y + 12}">{escape(bar.label)}</text>'
            f'<rect class="chart-bar" x="{left}" y="{y + 17}" width="{max(w, 1):.1f}" height="13">'
            f'<title>{escape(bar.label)}: {bar.value}</title></rect>'
            f'<text class="chart-value" x="{left + max(w, 1) + 6:.1f}" y="{y + 28}">{bar.value}</text>')))
    if not bars:
        parts.append(f'<text class="chart-axis" x="{left}" y="{row // 2 + 4}">—</text>')
    return _svg(width, height, title, "".join(parts), "chart-bars")
