"""Charts as inline SVG: a page that holds them needs nothing else to open, offline.

Standard library only. Each function returns one `<svg>` element; values are plain numbers,
labels plain text (escaped here).
"""

import html
import math
from collections.abc import Sequence

WIDTH, HEIGHT = 480, 320
MARGIN = {"left": 60, "right": 20, "top": 20, "bottom": 50}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
GRID = "#ddd"


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11, **extra) -> str:
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{attributes}>'
        f"{html.escape(text)}</text>"
    )


def _svg(parts: list[str], width: int = WIDTH, height: int = HEIGHT, title: str = "") -> str:
    label = f' aria-label="{html.escape(title)}"' if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"{label}>' + "".join(parts) + "</svg>"
    )


def _span(values: Sequence[float]) -> tuple[float, float]:
    finite = [value for value in values if math.isfinite(value)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    return (low - 0.5, high + 0.5) if low == high else (low, high)


def xy_chart(
    series: Sequence[tuple[str, Sequence[float], Sequence[float], str]],
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    title: str = "",
) -> str:
    """Lines or points: each series is (name, xs, ys, "line" or "points").

    diagonal draws y = x, dashed: the chance line of an ROC curve, a perfect calibration or
    perfect predictions.
    """
    x_low, x_high = x_range or _span([x for _, xs, _, _ in series for x in xs])
    y_low, y_high = y_range or _span([y for _, _, ys, _ in series for y in ys])
    left, top = MARGIN["left"], MARGIN["top"]
    plot_width = WIDTH - left - MARGIN["right"]
    plot_height = HEIGHT - top - MARGIN["bottom"]

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x_low) / (x_high - x_low) * plot_width,
            top + (1 - (y - y_low) / (y_high - y_low)) * plot_height,
        )

    parts = [
        f'<rect x="{left}" y="{top}" width="{plot_width}" height="{plot_height}" '
        f'fill="none" stroke="{GRID}"/>'
    ]
    for fraction in (0, 0.5, 1):
        x_value, y_value = x_low + fraction * (x_high - x_low), y_low + fraction * (y_high - y_low)
        x, _ = at(x_value, y_low)
        _, y = at(x_low, y_value)
        parts.append(_text(x, top + plot_height + 14, f"{x_value:.3g}"))
        parts.append(_text(left - 4, y + 4, f"{y_value:.3g}", anchor="end"))
    parts.append(_text(left + plot_width / 2, HEIGHT - 12, x_label))
    y_middle = top + plot_height / 2
    parts.append(_text(14, y_middle, y_label, transform=f"rotate(-90 14 {y_middle:.1f})"))
    if diagonal:
        low, high = max(x_low, y_low), min(x_high, y_high)
        (x1, y1), (x2, y2) = at(low, low), at(high, high)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#999" stroke-dasharray="4 4"/>'
        )
    for index, (name, xs, ys, kind) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        points = [at(x, y) for x, y in zip(xs, ys, strict=True)]
        if kind == "line":
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}"/>')
        else:
            parts += [
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}" fill-opacity="0.6"/>'
                for x, y in points
            ]
        parts.append(_text(left + 8, top + 14 + 14 * index, name, anchor="start", fill=colour))
    return _svg(parts, title=title)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    errors: Sequence[float] | None = None,
    value_label: str = "",
    title: str = "",
) -> str:
    """Horizontal bars, one per label, with whiskers of ± `errors` when given."""
    row, left, right = 18, 170, 60
    height = MARGIN["top"] + row * len(labels) + 30
    low = min(0.0, *(v - e for v, e in zip(values, errors or [0] * len(values), strict=True)))
    high = max(0.0, *(v + e for v, e in zip(values, errors or [0] * len(values), strict=True)))
    high = high if high > low else low + 1
    span = WIDTH - left - right

    def x_of(value: float) -> float:
        return left + (value - low) / (high - low) * span

    zero = x_of(0.0)
    parts = [
        f'<line x1="{zero:.1f}" y1="{MARGIN["top"] - 4}" x2="{zero:.1f}" '
        f'y2="{height - 26}" stroke="#999"/>'
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN["top"] + index * row
        start, end = sorted((zero, x_of(value)))
        parts.append(
            f'<rect x="{start:.1f}" y="{y:.1f}" width="{end - start:.1f}" height="{row - 4}" '
            f'fill="{COLOURS[0]}"><title>{html.escape(label)}: {value:.4g}</title></rect>'
        )
        if errors:
            x1, x2 = x_of(value - errors[index]), x_of(value + errors[index])
            middle = y + (row - 4) / 2
            parts.append(
                f'<line x1="{x1:.1f}" y1="{middle:.1f}" x2="{x2:.1f}" y2="{middle:.1f}" '
                'stroke="#333"/>'
            )
        parts.append(_text(left - 6, y + row - 7, label, anchor="end"))
        parts.append(_text(WIDTH - right + 4, y + row - 7, f"{value:.3g}", anchor="start"))
    parts.append(_text(left + span / 2, height - 8, value_label))
    return _svg(parts, height=height, title=title)


def column_chart(
    categories: Sequence[str],
    series: dict[str, Sequence[float | None]],
    value_label: str = "",
    title: str = "",
) -> str:
    """Vertical columns per category, one per series side by side; None leaves a gap.

    The series are named in a row above the plot; categories too many to name each are named
    at intervals.
    """
    values = [value for column in series.values() for value in column if value is not None]
    low, high = min(0.0, *values), max(0.0, *values)
    high = high if high > low else low + 1
    left, top = MARGIN["left"], MARGIN["top"] + 16
    plot_width = WIDTH - left - MARGIN["right"]
    plot_height = HEIGHT - top - MARGIN["bottom"]
    slot = plot_width / max(len(categories), 1)
    width = slot * 0.8 / max(len(series), 1)
    label_every = math.ceil(max(len(category) for category in categories) * 7 / slot)

    def y_of(value: float) -> float:
        return top + (1 - (value - low) / (high - low)) * plot_height

    parts = [
        f'<line x1="{left}" y1="{y_of(0):.1f}" x2="{left + plot_width}" y2="{y_of(0):.1f}" '
        'stroke="#999"/>',
        _text(left - 4, y_of(high) + 4, f"{high:.3g}", anchor="end"),
        _text(left - 4, y_of(low) + 4, f"{low:.3g}", anchor="end"),
    ]
    for index, category in enumerate(categories):
        x_start = left + index * slot + slot * 0.1
        for offset, (name, column) in enumerate(series.items()):
            value = column[index]
            if value is None:
                continue
            y1, y2 = sorted((y_of(0), y_of(value)))
            parts.append(
                f'<rect x="{x_start + offset * width:.1f}" y="{y1:.1f}" width="{width:.1f}" '
                f'height="{y2 - y1:.1f}" fill="{COLOURS[offset % len(COLOURS)]}">'
                f"<title>{html.escape(category)}, {html.escape(name)}: {value:.4g}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(_text(left + (index + 0.5) * slot, top + plot_height + 14, category))
    x = left
    for offset, name in enumerate(series):
        colour = COLOURS[offset % len(COLOURS)]
        parts.append(
            f'<rect x="{x}" y="{MARGIN["top"] - 9}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(_text(x + 14, MARGIN["top"], name, anchor="start"))
        x += 24 + 7 * len(name)
    y_middle = top + plot_height / 2
    parts.append(_text(14, y_middle, value_label, transform=f"rotate(-90 14 {y_middle:.1f})"))
    return _svg(parts, title=title)


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float]],
    diverging: bool = False,
    title: str = "",
) -> str:
    """A grid of cells shaded by value, each showing it: counts, or signed values (diverging)."""
    cell_width, cell_height = 56, 22
    # Column labels are turned 45 degrees: room above and to the right for the longest.
    reach = 7 * max(map(len, column_labels), default=0) * 0.71
    left, top = 7 * max(map(len, row_labels), default=0) + 12, reach + 12
    width = int(left + cell_width * len(column_labels) + reach)
    height = int(top + cell_height * len(row_labels) + 10)
    largest = max((abs(value) for row in values for value in row), default=0.0) or 1.0
    parts = []
    for column, label in enumerate(column_labels):
        x = left + (column + 0.5) * cell_width
        turned = f"rotate(-45 {x} {top - 6})"
        parts.append(_text(x, top - 6, label, anchor="start", transform=turned))
    for row, (label, row_values) in enumerate(zip(row_labels, values, strict=True)):
        y = top + row * cell_height
        parts.append(_text(left - 6, y + cell_height * 0.7, label, anchor="end"))
        for column, value in enumerate(row_values):
            strength = abs(value) / largest
            hue = "214,39,40" if diverging and value < 0 else "31,119,180"
            parts.append(
                f'<rect x="{left + column * cell_width}" y="{y}" width="{cell_width - 2}" '
                f'height="{cell_height - 2}" fill="rgba({hue},{0.1 + 0.8 * strength:.2f})"/>'
            )
            parts.append(
                _text(
                    left + (column + 0.5) * cell_width,
                    y + cell_height * 0.7,
                    f"{value:.2g}",
                    size=10,
                )
            )
    return _svg(parts, width=width, height=height, title=title)
