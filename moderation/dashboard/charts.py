"""Small server-rendered SVG charts (no JavaScript, print and screen-reader friendly via <title>)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 40, 28, 10
# Colour-blind safe (Okabe-Ito) and dark enough on white for the 3:1 contrast graphics need.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _axis(max_value: float) -> list[str]:
    parts = []
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    for step in range(5):
        value = max_value * step / 4
        y = HEIGHT - PAD_BOTTOM - plot_h * step / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value:.3g}</text>'
        )
    return parts


def _legend(names: list[str]) -> tuple[list[str], int]:
    """Legend entries, wrapped onto as many rows as the chart's width needs (German names run long)."""
    parts, x, row = [], PAD_LEFT, 0
    for colour, name in zip(PALETTE, names, strict=False):
        width = 16 + 7 * len(name) + 20  # 11px text averages under 7 units per character
        if x + width > WIDTH and x > PAD_LEFT:
            x, row = PAD_LEFT, row + 1
        y = HEIGHT + 8 + 24 * row
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y + 10}" class="legend">{escape(name)}</text>'
        )
        x += width
    return parts, row + 1


def stacked_bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, label_every: int = 5
) -> Markup:
    """One bar per label, stacked by series; `series` values align with `labels`."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(1, len(labels))
    legend, legend_rows = _legend(list(series))
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT + 24 * legend_rows}" role="img" class="chart" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        *_axis(top),
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
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(label)} {escape(name)}: {value:g}</title></rect>"
            )
        if i % label_every == 0 and (label_every == 1 or i < len(labels) - 2):  # the last would be clipped
            parts.append(
                f'<text x="{PAD_LEFT + i * slot + slot / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    parts.extend(legend)
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(title: str, counts: Sequence[int], *, low: float = 0.0, high: float = 1.0) -> Markup:
    """Equal-width bins between `low` and `high`."""
    labels = [f"{low + (high - low) * i / len(counts):.2f}" for i in range(len(counts))]
    return stacked_bars(title, labels, {title: list(counts)}, label_every=max(1, len(counts) // 5))
