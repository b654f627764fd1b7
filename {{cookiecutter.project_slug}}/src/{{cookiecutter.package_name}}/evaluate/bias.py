"""Does the model treat groups differently? Metrics per group of each sensitive feature.

For each feature data/schema.py declares sensitive, the test rows are grouped (a categorical
feature by its codes, any other by its bin edges; missing values form a group of their own),
and each group gets its size and its metrics:
{%- if cookiecutter.problem_type == "binary_classification" %} the rate of actual positives,
of predicted positives, of true positives among the actual positives and of false positives
among the actual negatives.
{%- else %} the mean truth and prediction,
the mean absolute error and the mean residual (prediction minus truth).
{%- endif %}

The disparities are the largest differences between groups of at least
settings.BIAS_MIN_GROUP_SIZE rows, each against its threshold in settings.BIAS_THRESHOLDS.

This is the package's own code, run by Evaluate locally and on SageMaker alike, rather than a
SageMaker Clarify check: Clarify's container is closed and cannot run on a laptop, so a local run
could not show what the pipeline would decide. bias.json is registered as the model version's
bias report; `gate.passes` is what the quality gate reads.
"""

from itertools import pairwise

import numpy as np
import pandas as pd

from .. import settings
from ..data import schema
{%- if cookiecutter.problem_type == "binary_classification" %}
from ..infer.handler import DECISION_THRESHOLD
{%- endif %}
from .core import metadata_text

MISSING = "missing"


def groups(values: np.ndarray, edges: tuple[float, ...]) -> dict[str, np.ndarray]:
    """The rows of each group, by label: codes (no edges) or bins between the edges."""
    present = ~np.isnan(values)
    if edges:
        bins = np.digitize(values, edges)  # 0 below the first edge, len(edges) from the last
        bounds = [f"{edge:g}" for edge in edges]
        labels = [f"under {bounds[0]}"]
        labels += [f"{low} to under {high}" for low, high in pairwise(bounds)]
        labels.append(f"{bounds[-1]} or over")
        found = {label: present & (bins == index) for index, label in enumerate(labels)}
    else:
        found = {f"{code:g}": values == code for code in np.unique(values[present])}
    found[MISSING] = ~present
    return {label: rows for label, rows in found.items() if rows.any()}
{%- if cookiecutter.problem_type == "binary_classification" %}


def _rate(condition: np.ndarray, among: np.ndarray) -> float | None:
    """The share of `among` rows where `condition` holds; None when there are none."""
    return float(condition[among].mean()) if among.any() else None


def group_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    positive, flagged = truth == 1, predicted >= DECISION_THRESHOLD
    everyone = np.ones_like(positive)
    return {
        "base_rate": _rate(positive, everyone),
        "positive_rate": _rate(flagged, everyone),
        "true_positive_rate": _rate(flagged, positive),
        "false_positive_rate": _rate(flagged, ~positive),
    }


def disparities(compared: list[dict]) -> dict[str, float | None]:
    """The largest difference of each rate between the compared groups."""

    def spread(metric: str) -> float | None:
        values = [group[metric] for group in compared if group[metric] is not None]
        return max(values) - min(values) if len(values) > 1 else None

    return {
        "positive_rate_difference": spread("positive_rate"),
        "true_positive_rate_difference": spread("true_positive_rate"),
        "false_positive_rate_difference": spread("false_positive_rate"),
    }
{%- else %}


def group_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    residual = predicted - truth
    return {
        "mean_truth": float(np.mean(truth)),
        "mean_prediction": float(np.mean(predicted)),
        "mean_absolute_error": float(np.mean(np.abs(residual))),
        "mean_residual": float(np.mean(residual)),
    }


def disparities(compared: list[dict]) -> dict[str, float | None]:
    """The largest group's error over the smallest's, and the spread of the mean residuals in
    units of the compared rows' mean absolute error."""
    if len(compared) < 2:
        return dict.fromkeys(settings.BIAS_THRESHOLDS)
    errors = [group["mean_absolute_error"] for group in compared]
    residuals = [group["mean_residual"] for group in compared]
    sizes = [group["size"] for group in compared]
    scale = sum(size * error for size, error in zip(sizes, errors, strict=True)) / sum(sizes)
    return {
        "error_ratio": max(errors) / min(errors) if min(errors) else float("inf"),
        "mean_residual_difference": (max(residuals) - min(residuals)) / scale if scale else 0.0,
    }
{%- endif %}


def assess_feature(
    name: str, edges: tuple[float, ...], test: pd.DataFrame, truth, predicted
) -> dict:
    """One sensitive feature's groups, their disparities, and whether each is within bounds."""
    found = []
    for label, rows in groups(test[name].to_numpy(dtype=float), edges).items():
        found.append(
            {
                "group": label,
                "size": int(rows.sum()),
                "compared": bool(rows.sum() >= settings.BIAS_MIN_GROUP_SIZE),
                **group_metrics(truth[rows], predicted[rows]),
            }
        )
    compared = [group for group in found if group["compared"]]
    checks = {
        metric: {
            "value": value,
            "threshold": settings.BIAS_THRESHOLDS[metric],
            # A disparity that cannot be measured (fewer than two groups compared) is not one.
            "within": value is None or value <= settings.BIAS_THRESHOLDS[metric],
        }
        for metric, value in disparities(compared).items()
    }
    return {
        "feature": name,
        "grouping": "codes" if not edges else f"bins at {', '.join(f'{e:g}' for e in edges)}",
        "groups": found,
        "groups_compared": len(compared),
        "disparities": checks,
        "within_thresholds": all(check["within"] for check in checks.values()),
    }


def assess(test: pd.DataFrame, truth: np.ndarray, predicted: np.ndarray) -> dict:
    """bias.json: every sensitive feature's assessment, and the verdict the quality gate reads."""
    features = [
        assess_feature(name, tuple(edges), test, truth, predicted)
        for name, edges in schema.SENSITIVE_FEATURES.items()
    ]
    beyond = [
        f"{feature['feature']} {metric} {check['value']:.3f} > {check['threshold']:g}"
        for feature in features
        for metric, check in feature["disparities"].items()
        if not check["within"]
    ]
    if not features:
        summary = (
            "no feature is declared sensitive (data/schema.py, SENSITIVE_FEATURES): "
            "no bias was assessed"
        )
    elif beyond:
        summary = f"disparity beyond the thresholds: {'; '.join(beyond)}"
    else:
        summary = f"every disparity of {', '.join(schema.SENSITIVE_FEATURES)} within the thresholds"
    return {
        "sensitive_features": features,
        "min_group_size": settings.BIAS_MIN_GROUP_SIZE,
        "gate": {
            "enforced": settings.BIAS_GATE,
            "within_thresholds": not beyond,
            "passes": not (settings.BIAS_GATE and beyond),
            "summary": summary,
            "registry_summary": metadata_text(summary),
        },
    }
