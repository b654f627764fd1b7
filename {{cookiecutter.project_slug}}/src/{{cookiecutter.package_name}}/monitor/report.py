"""Write a drift check's reports: the violations (JSON) and a page to look at (HTML).

drift.json has one entry per feature and check, with its statistic, threshold and verdict;
the scheduled job publishes its figures as CloudWatch metrics. drift.html shows the same
table and, for each check that found drift in a distribution, the training and the captured
shares side by side as a bar chart (inline SVG: the page needs nothing else to open).

Both files appear together or not at all: each is written under a temporary name first, and
a folder that already holds a report is refused rather than overwritten.
"""

import html
import json
import os
from pathlib import Path

from .drift import DRIFT, DriftResult

JSON_FILE = "drift.json"
HTML_FILE = "drift.html"
PARTIAL = ".partial"
STYLE = (
    "body { font-family: sans-serif; margin: 2em; } table { border-collapse: collapse; } "
    "td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; } "
    + f"tr.{DRIFT}"
    + " { background: #fbe3e2; } tr.skipped { color: #888; }"
)


class ReportError(OSError):
    """The reports cannot be written where asked; the message says why."""


def violations(result: DriftResult, context: dict) -> dict:
    """The JSON report: `context` (what was checked against what), then every check."""
    return {
        **context,
        "rows_checked": result.rows,
        "drift_score": result.score,
        "drift": bool(result.drifted),
        "checks": [
            {
                "feature": check.feature,
                "check": check.check,
                "statistic": check.statistic,
                "value": check.value,
                "threshold": check.threshold,
                "verdict": check.verdict,
                "detail": check.detail,
            }
            for check in result.checks
        ],
    }


def _bar_chart(check) -> str:
    """Training and captured shares per bin, as an SVG bar chart."""
    width, height, top, bottom, left = 640, 220, 20, 60, 40
    bins = len(check.bins)
    slot = (width - left) / bins
    tallest = max([*check.baseline_shares, *check.captured_shares, 1e-9])
    parts = [f'<svg width="{width}" height="{height}" role="img">']
    for index, label in enumerate(check.bins):
        for offset, (share, colour) in enumerate(
            ((check.baseline_shares[index], "#8fa8c8"), (check.captured_shares[index], "#d9534f"))
        ):
            bar = (height - top - bottom) * share / tallest
            x = left + index * slot + offset * slot * 0.4 + slot * 0.1
            y = height - bottom - bar
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.4:.1f}" height="{bar:.1f}" '
                f'fill="{colour}"><title>{share:.1%}</title></rect>'
            )
        x, y = left + (index + 0.5) * slot, height - bottom + 14
        parts.append(
            f'<text x="{x:.1f}" y="{y}" font-size="9" text-anchor="end" '
            f'transform="rotate(-30 {x:.1f} {y})">{html.escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table_row(check: dict) -> str:
    value = "" if check["value"] is None else f"{check['value']:.4f}"
    cells = (
        check["feature"] or "(all rows)",
        check["check"],
        value,
        f"{check['threshold']:g}",
        check["verdict"],
        check["detail"],
    )
    tds = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
    return f'<tr class="{check["verdict"]}">{tds}</tr>'


def page(report: dict, result: DriftResult) -> str:
    """The HTML report: the verdict, every check, and a chart per drifting distribution."""
    title = "Drift found" if report["drift"] else "No drift"
    if not report["rows_checked"] and not result.requests_unread:
        title = "No captured rows to check"
    rows = "".join(_table_row(check) for check in report["checks"])
    charts = "".join(
        f"<h3>{html.escape(check.feature or 'predictions')}: distance {check.value:.3f} "
        f"(threshold {check.threshold:g})</h3>{_bar_chart(check)}"
        for check in result.drifted
        if check.bins
    )
    context = "".join(
        f"<li>{html.escape(key)}: {html.escape(str(value))}</li>"
        for key, value in report.items()
        if key not in ("checks", "drift")
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head><body>
<h1>{title}</h1><ul>{context}</ul>
<p>Bars: <span style="color:#8fa8c8">training</span> and
<span style="color:#d9534f">captured</span> shares of each bin.</p>
{charts or "<p>No distribution drifted.</p>"}
<h2>Every check</h2>
<table><tr><th>feature</th><th>check</th><th>value</th><th>threshold</th><th>verdict</th>
<th>detail</th></tr>{rows}</table>
</body></html>
"""


def refuse_existing(output_dir: Path) -> None:
    """Raise if `output_dir` holds a report already: one is never overwritten."""
    existing = [path for path in (output_dir / JSON_FILE, output_dir / HTML_FILE) if path.exists()]
    if existing:
        raise ReportError(
            f"{existing[0]} exists: a report is never overwritten; pass another --output-dir"
        )


def write(output_dir: Path, report: dict, result: DriftResult) -> tuple[Path, Path]:
    """Write drift.json and drift.html into `output_dir`, both or neither."""
    refuse_existing(output_dir)
    targets = (output_dir / JSON_FILE, output_dir / HTML_FILE)
    created = not output_dir.exists()
    contents = (json.dumps(report, indent=2) + "\n", page(report, result))
    partials = [path.with_name(path.name + PARTIAL) for path in targets]
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for partial, content in zip(partials, contents, strict=True):
            partial.write_text(content, encoding="utf-8")
        for partial, target in zip(partials, targets, strict=True):
            os.replace(partial, target)
    except BaseException:
        for path in (*partials, *targets):
            path.unlink(missing_ok=True)
        if created and output_dir.exists() and not any(output_dir.iterdir()):
            output_dir.rmdir()
        raise
    return targets
