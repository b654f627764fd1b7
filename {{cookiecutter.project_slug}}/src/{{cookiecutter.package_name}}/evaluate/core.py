"""Metrics in the SageMaker model-quality shape, as model registries and Model Monitor read them.

Each metric has a `value` and a `standard_deviation` estimated by bootstrap resampling of the
test set, so a reviewer sees how much a metric could move on another sample of the same size.
"""

import numpy as np
import pandas as pd
{%- if cookiecutter.problem_type == "binary_classification" %}
from scipy.stats import rankdata
{%- endif %}

from .. import settings
from ..infer.handler import {% if cookiecutter.problem_type == "binary_classification" %}DECISION_THRESHOLD, {% endif %}Model, predict_array
from ..train.core import features_and_target

BOOTSTRAP_ROUNDS = 200
BOOTSTRAP_SEED = 0
{%- if cookiecutter.problem_type == "binary_classification" %}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def metric_values(truth: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Binary-classification metrics of predicted probabilities against 0/1 truth.

    Plain numpy rather than sklearn.metrics: the bootstrap calls this hundreds of times, and
    sklearn's input checks would dominate the run. The tests pin it to sklearn's results.
    """
    positive, predicted = truth == 1, probability >= DECISION_THRESHOLD
    true_positives = float(np.sum(positive & predicted))
    precision = _ratio(true_positives, np.sum(predicted))
    recall = _ratio(true_positives, np.sum(positive))
    ranks = rankdata(probability)  # AUC as the Mann-Whitney statistic, ties counted half
    positives, negatives = int(np.sum(positive)), int(np.sum(~positive))
    auc = (np.sum(ranks[positive]) - positives * (positives + 1) / 2) / (positives * negatives)
    return {
        "accuracy": float(np.mean(positive == predicted)),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "auc": float(auc),
    }


def extra_entries(truth: np.ndarray, probability: np.ndarray) -> dict:
    """The confusion matrix as SageMaker writes it: actual class -> predicted class -> count."""
    predicted = (probability >= DECISION_THRESHOLD).astype(int)
    return {
        "confusion_matrix": {
            str(actual): {
                str(label): int(np.sum((truth == actual) & (predicted == label)))
                for label in (0, 1)
            }
            for actual in (0, 1)
        }
    }
{%- else %}


def metric_values(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Regression metrics of predictions against the truth.

    Plain numpy rather than sklearn.metrics: the bootstrap calls this hundreds of times, and
    sklearn's input checks would dominate the run. The tests pin it to sklearn's results.
    """
    error = prediction - truth
    mse = float(np.mean(error**2))
    variance = float(np.var(truth))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(error))),
        # A constant truth has no R2: NaN, which fails the quality gate.
        "r2": 1.0 - mse / variance if variance else float("nan"),
    }


def extra_entries(truth: np.ndarray, prediction: np.ndarray) -> dict:
    """Nothing beyond the scalar metrics for regression."""
    return {}
{%- endif %}


def bootstrap_deviation(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Standard deviation of each metric over bootstrap resamples of the test set."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    samples: dict[str, list[float]] = {}
    for _ in range(BOOTSTRAP_ROUNDS):
        rows = rng.integers(0, len(truth), len(truth))
        if len(np.unique(truth[rows])) < 2:  # a resample with one class has no AUC (or R2)
            continue
        for name, value in metric_values(truth[rows], predicted[rows]).items():
            samples.setdefault(name, []).append(value)
    return {name: float(np.std(values)) for name, values in samples.items()}


def evaluate(model: Model, test: pd.DataFrame) -> dict:
    """The evaluation report of `model` on the test frame."""
    features, truth = features_and_target(test)
    predicted = predict_array(model, features)
    values = metric_values(truth, predicted)
    deviation = bootstrap_deviation(truth, predicted)
    metrics = {
        name: {"value": float(value), "standard_deviation": deviation.get(name, 0.0)}
        for name, value in values.items()
    }
    return {settings.REPORT_KEY: {**metrics, **extra_entries(truth, predicted)}}


def primary_metric(model: Model, frame: pd.DataFrame) -> tuple[str, float]:
    """The quality-gate metric (settings.PRIMARY_METRIC) of `model` on `frame`."""
    features, truth = features_and_target(frame)
    value = metric_values(truth, predict_array(model, features))[settings.PRIMARY_METRIC]
    return settings.PRIMARY_METRIC, float(value)


def metric_from_report(report: dict, name: str = settings.PRIMARY_METRIC) -> float:
    """Read one metric's value back from an evaluation report."""
    return report[settings.REPORT_KEY][name]["value"]
