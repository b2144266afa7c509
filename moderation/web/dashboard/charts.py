"""Small server-rendered SVG charts (no JavaScript, print and screen-reader friendly via <title>).

Every chart is drawn at the pixel width it is shown at (`width`), and the page never scales it up
(`max-width: 100%`, no `width: 100%`), so tick, axis and legend text is the same size in every chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from moderation.web.dashboard.numbers import number

WIDE, NARROW, COLUMN = 1150, 760, 560  # full width at 1366 px, full width on a tablet, half width
HEIGHT = 240
PAD_LEFT, PAD_RIGHT, PAD_BOTTOM, PAD_TOP = 58, 12, 46, 14
FONT = 12  # px, for ticks, axis titles and legend alike
# Colour-blind safe (Okabe-Ito, the two light ones darkened) and at least 3:1 against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#9E6A00", "#5E4FA2", "#000000")


def nice_scale(value: float) -> tuple[float, int]:
    """The axis maximum and its number of intervals (at most 5), stepping by 1, 2 or 5 × 10^k, so counts
    get whole-number ticks (0, 2, 4, 6, 8, 10) instead of 1.75 or 5.25."""
    if value <= 0:
        return 4, 4
    magnitude = 10 ** max(0, math.floor(math.log10(value / 5)))
    for step in (1, 2, 5, 10):
        intervals = math.ceil(value / (step * magnitude))
        if intervals <= 5:
            return step * magnitude * intervals, max(1, intervals)
    return value, 4


def _axis(max_value: float, intervals: int, width: int, y_title: str, x_title: str) -> list[str]:
    parts = []
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    for step in range(intervals + 1):
        value = max_value * step / intervals
        y = HEIGHT - PAD_BOTTOM - plot_h * step / intervals
        tick = number(value, "#,##0.##")
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>'
        )
    middle = PAD_TOP + plot_h / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 14 {middle:.1f})" '
        f'class="axis-title">{escape(y_title)}</text>'
        f'<text x="{(PAD_LEFT + width - PAD_RIGHT) / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'class="axis-title">{escape(x_title)}</text>'
    )
    return parts


def _legend(names: list[str], width: int) -> tuple[list[str], int]:
    """Legend entries, wrapped onto as many rows as the chart's width needs (German names run long)."""
    if len(names) < 2:
        return [], 0
    parts, x, row = [], PAD_LEFT, 0
    for colour, name in zip(PALETTE, names, strict=False):
        item = 18 + round(FONT * 0.62 * len(name)) + 24  # a 12 px character averages under 7.5 px
        if x + item > width and x > PAD_LEFT:
            x, row = PAD_LEFT, row + 1
        y = HEIGHT + 6 + 24 * row
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 18}" y="{y + 11}" class="legend">{escape(name)}</text>'
        )
        x += item
    return parts, row + 1


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    y_title: str,
    x_title: str,
    width: int = COLUMN,
    label_every: int = 5,
    css_class: str = "",
) -> Markup:
    """One bar per label, stacked by series; `series` values align with `labels`."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top, intervals = nice_scale(max(totals, default=0))
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(1, len(labels))
    legend, legend_rows = _legend(list(series), width)
    height = HEIGHT + 24 * legend_rows + (8 if legend_rows else 0)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'class="{" ".join(("chart", css_class)).strip()}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        *_axis(top, intervals, width, y_title, x_title),
    ]
    for i, label in enumerate(labels):
        y: float = HEIGHT - PAD_BOTTOM
        for colour, (name, values) in zip(PALETTE, series.items(), strict=False):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            x = PAD_LEFT + i * slot + slot * 0.1
            what = f"{escape(label)} {escape(name)}" if len(series) > 1 else escape(label)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{colour}" '
                f'class="bar-part"><title>{what}: {value:g}</title></rect>'
            )
        if i % label_every == 0 and (label_every == 1 or i < len(labels) - 2):  # the last would be clipped
            parts.append(
                f'<text x="{PAD_LEFT + i * slot + slot / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
                f'text-anchor="middle" class="tick">{escape(label)}</text>'
            )
    parts.extend(legend)
    parts.append("</svg>")
    # Every text in the SVG went through escape(); the rest are formatted numbers and our own constants.
    return Markup("".join(parts))  # nosec B704


def histogram(
    title: str,
    counts: Sequence[int],
    *,
    y_title: str,
    x_title: str,
    low: float = 0.0,
    high: float = 1.0,
    width: int = COLUMN,
) -> Markup:
    """Equal-width bins between `low` and `high`."""
    labels = [number(low + (high - low) * i / len(counts)) for i in range(len(counts))]
    return stacked_bars(
        title,
        labels,
        {title: list(counts)},
        y_title=y_title,
        x_title=x_title,
        width=width,
        label_every=max(1, len(counts) // 5),
    )


def figure_history(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    y_title: str,
    width: int = COLUMN,
) -> Markup:
    """Figures between 0 and 1 (AUC, F1) per version, one line with dots per series; the y axis starts at
    the tenth below the lowest value so small differences stay visible. Labels are shortened to their
    first ten characters (a version's date)."""
    values = [v for vs in series.values() for v in vs if v is not None]
    low = max(0.0, math.floor(min(values, default=0.0) * 10 - 1e-9) / 10)
    low = min(low, 0.9)
    intervals = max(1, round((1 - low) * 10))
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(1, len(labels))
    legend, legend_rows = _legend(list(series), width)
    height = HEIGHT + 24 * legend_rows + (8 if legend_rows else 0)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" class="chart" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(intervals + 1):
        value = low + (1 - low) * step / intervals
        y = HEIGHT - PAD_BOTTOM - plot_h * step / intervals
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{number(value, '0.0')}</text>"
        )
    middle = PAD_TOP + plot_h / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 14 {middle:.1f})" '
        f'class="axis-title">{escape(y_title)}</text>'
    )
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{PAD_LEFT + i * slot + slot / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
            f'text-anchor="middle" class="tick">{escape(label[:10])}</text>'
        )
    for colour, (name, points) in zip(PALETTE, series.items(), strict=False):
        coords = [
            (PAD_LEFT + i * slot + slot / 2, HEIGHT - PAD_BOTTOM - plot_h * (v - low) / (1 - low), v)
            for i, v in enumerate(points)
            if v is not None
        ]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y, v), label in zip(
            coords, [lab for lab, p in zip(labels, points, strict=True) if p is not None], strict=True
        ):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{escape(name)} · '
                f"{escape(label)}: {number(v, '0.00')}</title></circle>"
            )
    parts.extend(legend)
    parts.append("</svg>")
    # Every text in the SVG went through escape(); the rest are formatted numbers and our own constants.
    return Markup("".join(parts))  # nosec B704
