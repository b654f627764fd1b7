"""Metrics in the SageMaker model-quality shape, as model registries and Model Monitor read them.

Each metric has a `value` and a `standard_deviation` estimated by bootstrap resampling of the
test set, so a reviewer sees how much a metric could move on another sample of the same size.
Beside them, under settings.COMPARISON_KEY, the comparison with the champion (the model in
production): both models score the same test rows, and the same resamples give the paired
difference in the primary metric its one-sided lower bound (settings, "Champion/challenger").
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import settings
from ..infer.handler import {% if cookiecutter.problem_type == "binary_classification" %}DECISION_THRESHOLD, {% endif %}Model, predict_array
from ..train.core import features_and_target

BOOTSTRAP_ROUNDS = 200
BOOTSTRAP_SEED = 0
METADATA_REFUSED = re.compile(f"[^{settings.METADATA_CHARACTERS}]+")
{%- if cookiecutter.problem_type == "binary_classification" %}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def metric_values(truth: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Binary-classification metrics of predicted probabilities against 0/1 truth.

    Plain numpy rather than sklearn.metrics: the bootstrap computes them hundreds of times, and
    sklearn's input checks would dominate the run. The tests pin it to sklearn's results.
    """
    return Scores(truth, probability).metrics(np.ones(len(truth)))


class Scores:
    """A model's predictions on the test rows, sorted once: the metrics of any weighting of the
    rows (a bootstrap resample counts each row as often as it was drawn) are then sums."""

    def __init__(self, truth: np.ndarray, probability: np.ndarray):
        self.positive = (truth == 1).astype(float)
        self.decided = (probability >= DECISION_THRESHOLD).astype(float)
        # Rows of equal probability share a group, numbered in rising order: AUC counts ties half.
        self.groups = np.unique(probability, return_inverse=True)[1].ravel()

    def metrics(self, weights: np.ndarray) -> dict[str, float]:
        positive = weights * self.positive
        positives, total = float(positive.sum()), float(weights.sum())
        negatives = total - positives
        true_positives = float(positive @ self.decided)
        precision = _ratio(true_positives, float(weights @ self.decided))
        recall = _ratio(true_positives, positives)
        correct = true_positives + float((weights - positive) @ (1 - self.decided))
        # AUC as the Mann-Whitney statistic: each positive against the negatives below it.
        positive_by_group = np.bincount(self.groups, weights=positive)
        negative_by_group = np.bincount(self.groups, weights=weights - positive)
        below = np.cumsum(negative_by_group) - negative_by_group
        pairs = float(positive_by_group @ (below + negative_by_group / 2))
        return {
            "accuracy": correct / total,
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall),
            "auc": pairs / (positives * negatives),
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

    Plain numpy rather than sklearn.metrics: the bootstrap computes them hundreds of times, and
    sklearn's input checks would dominate the run. The tests pin it to sklearn's results.
    """
    return Scores(truth, prediction).metrics(np.ones(len(truth)))


class Scores:
    """A model's predictions on the test rows: the metrics of any weighting of the rows (a
    bootstrap resample counts each row as often as it was drawn) are sums."""

    def __init__(self, truth: np.ndarray, prediction: np.ndarray):
        self.truth = np.asarray(truth, dtype=float)
        error = prediction - truth
        self.squared, self.absolute = error**2, np.abs(error)

    def metrics(self, weights: np.ndarray) -> dict[str, float]:
        total = float(weights.sum())
        mse = float(weights @ self.squared) / total
        mean = float(weights @ self.truth) / total
        variance = float(weights @ (self.truth - mean) ** 2) / total
        return {
            "mse": mse,
            "rmse": float(np.sqrt(mse)),
            "mae": float(weights @ self.absolute) / total,
            # A constant truth has no R2: NaN, which fails the quality gate.
            "r2": 1.0 - mse / variance if variance else float("nan"),
        }


def extra_entries(truth: np.ndarray, prediction: np.ndarray) -> dict:
    """Nothing beyond the scalar metrics for regression."""
    return {}
{%- endif %}


@dataclass(frozen=True)
class Champion:
    """The model a new one is compared with: a registry version and its loaded model."""

    version: int
    arn: str
    model: Model


class ChampionError(Exception):
    """An Approved champion that cannot be compared with; the message names it and the fix."""


def resamples(truth: np.ndarray):
    """The bootstrap resamples of the test rows, the same ones on every call (seeded), each as
    how often every row was drawn."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    for _ in range(BOOTSTRAP_ROUNDS):
        counts = np.bincount(rng.integers(0, len(truth), len(truth)), minlength=len(truth))
        drawn = truth[counts > 0]
        if drawn.min() != drawn.max():  # a resample with one class has no AUC (or R2)
            yield counts.astype(float)


def metadata_text(text: str) -> str:
    """`text` as a model package's metadata value may hold it: other characters as spaces."""
    kept = METADATA_REFUSED.sub(" ", text.replace("%", " percent"))
    return " ".join(kept.split())[: settings.METADATA_VALUE_LENGTH]


def bootstrap_deviation(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Standard deviation of each metric over bootstrap resamples of the test set."""
    samples: dict[str, list[float]] = {}
    scores = Scores(truth, predicted)
    for counts in resamples(truth):
        for name, value in scores.metrics(counts).items():
            samples.setdefault(name, []).append(value)
    return {name: float(np.std(values)) for name, values in samples.items()}


def difference_lower_bound(truth: np.ndarray, new: np.ndarray, old: np.ndarray) -> float:
    """One-sided lower bound of the primary metric's difference new - old on the same rows.

    Each resample scores both models on the same rows, so what the rows have in common (hard
    cases, easy ones) cancels out, and the bound reflects the models' difference alone.
    """
    metric = settings.PRIMARY_METRIC
    challenger, champion = Scores(truth, new), Scores(truth, old)
    differences = [
        challenger.metrics(counts)[metric] - champion.metrics(counts)[metric]
        for counts in resamples(truth)
    ]
    if not differences:  # no resample with both classes: nothing to bound the difference by
        return float("nan")
    return float(np.quantile(differences, 1 - settings.CHAMPION_CONFIDENCE))


def champion_predictions(champion: Champion, test: pd.DataFrame) -> np.ndarray:
    """The champion's predictions on the test rows, from the features it was trained on."""
    missing = [name for name in champion.model.features if name not in test.columns]
    if missing:
        raise ChampionError(
            f"champion version {champion.version} needs feature(s) {', '.join(missing)}, which "
            "the test split lacks; keep them in the data, or reject the version"
        )
    features = test[list(champion.model.features)].to_numpy(dtype=float)
    return predict_array(champion.model, features)


def comparison(
    truth: np.ndarray, predicted: np.ndarray, champion: Champion | None, test: pd.DataFrame
) -> dict:
    """The challenger (`predicted`) against the champion, and whether it is not worse."""
    metric = settings.PRIMARY_METRIC
    challenger = float(metric_values(truth, predicted)[metric])
    record = {
        "metric": metric,
        "challenger": challenger,
        "confidence": settings.CHAMPION_CONFIDENCE,
        "tolerance": settings.CHAMPION_TOLERANCE,
    }
    if champion is None:
        return with_registry_summary(
            {
                **record,
                "champion": None,
                "champion_version": None,
                "champion_package": "none",
                "difference": None,
                "difference_lower_bound": None,
                "not_worse": True,
                "summary": "no Approved champion to compare with: the threshold decides alone",
            }
        )
    old = champion_predictions(champion, test)
    value = float(metric_values(truth, old)[metric])
    bound = difference_lower_bound(truth, predicted, old)
    not_worse = bool(bound >= -settings.CHAMPION_TOLERANCE)  # NaN is never not worse
    verdict = "within" if not_worse else "beyond"
    return with_registry_summary(
        {
            **record,
            "champion": value,
            "champion_version": champion.version,
            "champion_package": champion.arn,
            "difference": challenger - value,
            "difference_lower_bound": bound,
            "not_worse": not_worse,
            "summary": (
                f"{metric} {challenger:.4f} against {value:.4f} of champion version "
                f"{champion.version}: difference {challenger - value:+.4f}, lower bound "
                f"{bound:+.4f} ({settings.CHAMPION_CONFIDENCE:.0%} one-sided), {verdict} the "
                f"tolerance {-settings.CHAMPION_TOLERANCE:+.4f}"
            ),
        }
    )


def with_registry_summary(record: dict) -> dict:
    """`record` and its summary as the registered version's metadata can hold it."""
    return {**record, "registry_summary": metadata_text(record["summary"])}


def evaluate(model: Model, test: pd.DataFrame, champion: Champion | None = None) -> dict:
    """The evaluation report of `model` on the test frame, compared with the `champion`."""
    features, truth = features_and_target(test)
    return quality_report(truth, predict_array(model, features), champion, test)


def quality_report(
    truth: np.ndarray, predicted: np.ndarray, champion: Champion | None, test: pd.DataFrame
) -> dict:
    """evaluation.json of the model's `predicted` values on the `test` rows."""
    values = metric_values(truth, predicted)
    deviation = bootstrap_deviation(truth, predicted)
    metrics = {
        name: {"value": float(value), "standard_deviation": deviation.get(name, 0.0)}
        for name, value in values.items()
    }
    return {
        settings.REPORT_KEY: {**metrics, **extra_entries(truth, predicted)},
        settings.COMPARISON_KEY: comparison(truth, predicted, champion, test),
    }


def primary_metric(model: Model, frame: pd.DataFrame) -> tuple[str, float]:
    """The quality-gate metric (settings.PRIMARY_METRIC) of `model` on `frame`."""
    features, truth = features_and_target(frame)
    value = metric_values(truth, predict_array(model, features))[settings.PRIMARY_METRIC]
    return settings.PRIMARY_METRIC, float(value)


def metric_from_report(report: dict, name: str = settings.PRIMARY_METRIC) -> float:
    """Read one metric's value back from an evaluation report."""
    return report[settings.REPORT_KEY][name]["value"]
