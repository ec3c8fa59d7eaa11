"""Charts drawn on the server as inline SVG: no CDN, no JavaScript, readable without either.

Each function returns markup ready for a template. Every bar carries a
``<title>`` so hovering shows the exact value, and a ``data-value``
attribute tests can read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


def nice_step(value: float, intervals: int = 4) -> float:
    """A round tick step (1, 2 or 5 times a power of ten, at least 1) so ``intervals`` steps reach ``value``."""
    if value <= intervals:
        return 1.0
    power = 10 ** math.floor(math.log10(value / intervals))
    for step in (1, 2, 5, 10):
        if value <= step * power * intervals:
            return float(step * power)
    return float(10 * power)


def nice_max(value: float) -> float:
    """A round axis top at or above ``value``: a whole number of round ticks."""
    step = nice_step(value)
    return step * max(math.ceil(value / step), 1) if value > 0 else 4.0


def number(value: float) -> str:
    """An axis or tile number: thousands separators, "12k" above ten thousand, "1.2M" above a million."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _frame(top: float, days: Sequence[dt.date]) -> list[str]:
    """Horizontal grid lines at round ticks with y labels, and a few date labels on the x axis."""
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    step = nice_step(top)
    ticks = max(round(top / step), 1)
    for i in range(ticks + 1):
        value = step * i
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{number(value)}</text>')
    if days:
        plot_w = WIDTH - LEFT - RIGHT
        every = max(1, math.ceil(len(days) / 5))
        # Labels count back from the last day, so "today" always has one.
        for i in range(len(days) - 1, -1, -every):
            x = LEFT + plot_w * (i + 0.5) / len(days)
            label = "today" if i == len(days) - 1 else days[i].strftime("%b %d")
            anchor = "end" if i == len(days) - 1 else "middle"
            x_text = min(x + 6, WIDTH - 2) if anchor == "end" else x
            parts.append(f'<text class="axis" x="{x_text:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{label}</text>')
    return parts


def _partial(index: int, count: int) -> tuple[str, str]:
    """The class and title suffix of the last day's bar: today is not over, so its bar is drawn paler."""
    return (" partial", " (today, so far)") if index == count - 1 else ("", "")


def _svg(parts: list[str], label: str, height: int = HEIGHT) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 - every interpolated text below went through escape()
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def bar_chart(series: Sequence[tuple[dt.date, int]], *, label: str, color: str = PALETTE[0]) -> Markup:
    """One bar per day."""
    days = [d for d, _ in series]
    top = nice_max(max((v for _, v in series), default=0))
    parts = _frame(top, days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(series), 1)
    for i, (day, value) in enumerate(series):
        if not value:
            continue
        h = plot_h * value / top
        x = LEFT + slot * i + slot * 0.12
        partial, note = _partial(i, len(series))
        parts.append(
            f'<rect class="bar{partial}" data-value="{value}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.76:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{day.isoformat()}: {value:,}{note}</title></rect>"
        )
    return _svg(parts, label)


def stacked_chart(days: Sequence[dt.date], layers: Sequence[tuple[str, Sequence[int]]], *, label: str) -> Markup:
    """Bars stacked by layer (e.g. trial / registered devices per day), with a legend."""
    totals = [sum(values[i] for _, values in layers) for i in range(len(days))]
    top = nice_max(max(totals, default=0))
    parts = _frame(top, days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    for i, day in enumerate(days):
        base = 0.0
        for n, (name, values) in enumerate(layers):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * base / top - h
            partial, note = _partial(i, len(days))
            parts.append(
                f'<rect class="bar{partial}" data-value="{value}" x="{LEFT + slot * i + slot * 0.12:.1f}" '
                f'y="{y:.1f}" width="{slot * 0.76:.1f}" height="{h:.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                f"<title>{day.isoformat()} {escape(name)}: {value:,}{note}</title></rect>"
            )
            base += value
    parts.extend(_legend([name for name, _ in layers]))
    return _svg(parts, label)


def line_chart(days: Sequence[dt.date], lines: Sequence[tuple[str, Sequence[int]]], *, label: str) -> Markup:
    """One polyline per series, with a legend; points carry their values."""
    top = nice_max(max((max(values, default=0) for _, values in lines), default=0))
    parts = _frame(top, days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    for n, (name, values) in enumerate(lines):
        color = PALETTE[n % len(PALETTE)]
        points = [
            (LEFT + plot_w * (i + 0.5) / max(len(values), 1), TOP + plot_h - plot_h * v / top)
            for i, v in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line" points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        if values:
            x, y = points[-1]
            parts.append(
                f'<circle class="point" data-value="{values[-1]}" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(name)}: {values[-1]:,} (today, so far)</title></circle>"
            )
    parts.extend(_legend([name for name, _ in lines]))
    return _svg(parts, label)


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    x = LEFT + 8
    for n, name in enumerate(names):
        color = PALETTE[n % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{TOP + 2}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="{TOP + 11}">{escape(name)}</text>')
        x += 28 + 8 * len(name)  # room for 12-unit labels
    return parts


def share_chart(items: Sequence[tuple[str, int]], *, label: str, limit: int = 8) -> Markup:
    """Horizontal bars with names and percentages (versions in use, OS mix)."""
    shown = list(items[:limit])
    rest = sum(v for _, v in items[limit:])
    if rest:
        shown.append(("other", rest))
    total = sum(v for _, v in shown) or 1
    top = max((v for _, v in shown), default=0) or 1
    row_h = 22
    height = max(len(shown), 1) * row_h + 8
    name_w, bar_w = 130, WIDTH - 130 - 110  # room for "12,345 (100%)" after the longest bar
    parts = []
    for i, (name, value) in enumerate(shown):
        y = 4 + i * row_h
        w = bar_w * value / top
        short = name if len(name) <= 20 else name[:19] + "…"
        parts.append(f'<text class="axis" x="{name_w - 8}" y="{y + 15}" text-anchor="end">{escape(short)}</text>')
        parts.append(
            f'<rect class="bar" data-value="{value}" x="{name_w}" y="{y + 3}" '
            f'width="{max(w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(name)}: {value}</title></rect>'
        )
        parts.append(
            f'<text class="axis" x="{name_w + w + 6:.1f}" y="{y + 15}">{value:,} ({100 * value / total:.0f}%)</text>'
        )
    if not shown:
        parts.append(f'<text class="axis" x="{WIDTH / 2}" y="20" text-anchor="middle">no data yet</text>')
    return _svg(parts, label, height)


def ratio_chart(
    days: Sequence[dt.date], lines: Sequence[tuple[str, Sequence[float | None]]], *, label: str, unit: str
) -> Markup:
    """One line per ratio, a point per day with its value (a day without a ratio, ``None``, breaks the line)."""
    top = nice_max(max((v for _, values in lines for v in values if v is not None), default=0))
    parts = _frame(top, days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    for n, (name, values) in enumerate(lines):
        color = PALETTE[n % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + plot_w * (i + 0.5) / max(len(values), 1), TOP + plot_h - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            _, note = _partial(i, len(values))
            parts.append(
                f'<circle class="point" data-value="{value:g}" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                f"<title>{days[i].isoformat()} {escape(name)}: {value:.2f} {escape(unit)}{note}</title></circle>"
            )
        for run in (r for r in runs if len(r) > 1):
            parts.append(
                f'<polyline class="line" points="{" ".join(run)}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
    parts.extend(_legend([name for name, _ in lines]))
    return _svg(parts, label)
