"""The curves a person looks at to judge a model, as points (evaluate/page.py draws them).

Each function returns plain lists, at most MAX_POINTS points per curve: a page with more would
be heavy and look no different.
"""

import numpy as np
{%- if cookiecutter.problem_type == "binary_classification" %}
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve
{%- endif %}

MAX_POINTS = 400
{%- if cookiecutter.problem_type == "binary_classification" %}
CALIBRATION_BINS = 10
{%- else %}
RESIDUAL_BINS = 20
{%- endif %}


def thinned(*columns: np.ndarray) -> list[list[float]]:
    """Every column at the same evenly spaced positions, the first and last kept."""
    count = len(columns[0])
    if count > MAX_POINTS:
        positions = np.unique(np.linspace(0, count - 1, MAX_POINTS).round().astype(int))
        columns = tuple(column[positions] for column in columns)
    return [[float(value) for value in column] for column in columns]
{%- if cookiecutter.problem_type == "binary_classification" %}


def curves(truth: np.ndarray, probability: np.ndarray) -> dict:
    """ROC, precision-recall and calibration curves of probabilities against 0/1 truth."""
    false_positive, true_positive, _ = roc_curve(truth, probability)
    precision, recall, _ = precision_recall_curve(truth, probability)
    observed, predicted = calibration_curve(
        truth, probability, n_bins=CALIBRATION_BINS, strategy="quantile"
    )
    false_positive, true_positive = thinned(false_positive, true_positive)
    recall, precision = thinned(recall, precision)
    return {
        "roc": {"false_positive_rate": false_positive, "true_positive_rate": true_positive},
        "precision_recall": {
            "recall": recall,
            "precision": precision,
            "average_precision": float(average_precision_score(truth, probability)),
            "base_rate": float(np.mean(truth == 1)),
        },
        "calibration": {
            "mean_predicted": [float(value) for value in predicted],
            "observed_rate": [float(value) for value in observed],
        },
    }
{%- else %}


def curves(truth: np.ndarray, prediction: np.ndarray) -> dict:
    """Predictions against the truth, and the histogram of the residuals."""
    order = np.argsort(truth, kind="stable")
    actual, predicted = thinned(truth[order], prediction[order])
    counts, edges = np.histogram(prediction - truth, bins=RESIDUAL_BINS)
    return {
        "predicted_actual": {"actual": actual, "predicted": predicted},
        "residuals": {
            "bin_edges": [float(edge) for edge in edges],
            "counts": [int(count) for count in counts],
        },
    }
{%- endif %}
