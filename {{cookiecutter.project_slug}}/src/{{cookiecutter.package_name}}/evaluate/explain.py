"""Why the model predicts what it does: global feature importance and per-row attributions.

Global importance is permutation importance on the test split (as scikit-learn's
`inspection.permutation_importance` computes it): how much the primary metric drops when one
feature's values are shuffled, so it means the same for either framework and counts only what
the model uses on data it has not seen.
{%- if cookiecutter.model_framework == "xgboost" %}

Per-row attributions are XGBoost's own TreeSHAP (`pred_contribs`): exact Shapley values of each
feature for one row, which add up, with the base value, to the model's raw output, its margin
{%- if cookiecutter.problem_type == "binary_classification" %}
(the log-odds of the positive class)
{%- endif %}.
{%- else %}

Per-row attributions are Shapley values, estimated by permutation sampling against a background
of test rows: scikit-learn's inspection tools explain the model as a whole, not one row. For
each sampled order of the features, each background row turns into the explained row one
feature at a time, and a feature's attribution is the mean change of the prediction when it
turns. The attributions of a row add up, with the base value (the mean prediction on the
background), to its prediction
{%- if cookiecutter.problem_type == "binary_classification" %}
(the probability of the positive class)
{%- endif %}, exactly.
{%- endif %}
"""

import numpy as np
import pandas as pd

from .. import settings
from ..infer.handler import Model, predict_array
from ..train.core import features_and_target
from .core import metric_values

SEED = 0
{%- if cookiecutter.model_framework == "xgboost" %}
ATTRIBUTION_METHOD = "TreeSHAP, XGBoost's pred_contribs (exact Shapley values)"
{%- if cookiecutter.problem_type == "binary_classification" %}
ATTRIBUTION_UNIT = "log-odds of the positive class"
{%- else %}
ATTRIBUTION_UNIT = "the prediction"
{%- endif %}
{%- else %}
ATTRIBUTION_METHOD = "Shapley values by permutation sampling against test rows"
{%- if cookiecutter.problem_type == "binary_classification" %}
ATTRIBUTION_UNIT = "probability of the positive class"
{%- else %}
ATTRIBUTION_UNIT = "the prediction"
{%- endif %}
# Feature orders sampled per row, and background rows each order starts from.
SAMPLED_ORDERS = 10
BACKGROUND_ROWS = 20
{%- endif %}


def sample_rows(count: int, limit: int) -> np.ndarray:
    """At most `limit` of `count` row positions, the same ones on every call (seeded), sorted."""
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(SEED).choice(count, limit, replace=False))


def feature_importance(model: Model, features: np.ndarray, truth: np.ndarray) -> list[dict]:
    """Each feature's drop in the primary metric when shuffled, the largest first.

    What scikit-learn's `inspection.permutation_importance` computes, but with one prediction
    per feature for all its shuffles: the model predicts as many rows, in a fifth of the calls,
    which is most of the time on a test split of a few hundred rows.
    """
    metric, repeats = settings.PRIMARY_METRIC, settings.IMPORTANCE_REPEATS
    rng = np.random.default_rng(SEED)
    baseline = metric_values(truth, predict_array(model, features))[metric]
    entries = []
    for column, name in enumerate(model.features):
        shuffled = np.tile(features, (repeats, 1))
        for repeat in range(repeats):
            block = slice(repeat * len(features), (repeat + 1) * len(features))
            shuffled[block, column] = rng.permutation(features[:, column])
        predicted = predict_array(model, shuffled).reshape(repeats, len(features))
        drops = [baseline - metric_values(truth, scores)[metric] for scores in predicted]
        entries.append(
            {
                "feature": name,
                "importance": float(np.mean(drops)),
                "standard_deviation": float(np.std(drops)),
            }
        )
    return sorted(entries, key=lambda entry: -entry["importance"])
{%- if cookiecutter.model_framework == "xgboost" %}


def attributions(model: Model, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row's attribution per feature (TreeSHAP), and the base value they start from."""
    from xgboost import DMatrix

    contributions = model.estimator.get_booster().predict(DMatrix(rows), pred_contribs=True)
    return contributions[:, :-1].astype(float), float(contributions[0, -1])


def model_output(model: Model, rows: np.ndarray) -> np.ndarray:
    """What the attributions add up to: the model's margin."""
    from xgboost import DMatrix

    return model.estimator.get_booster().predict(DMatrix(rows), output_margin=True).astype(float)
{%- else %}


def attributions(
    model: Model, rows: np.ndarray, background: np.ndarray
) -> tuple[np.ndarray, float]:
    """Each row's attribution per feature (sampled Shapley values), and the base value.

    One prediction call per sampled order: every row, background row and step at once. A path's
    ends are the same in every order (the background's mean prediction, the row's own), so they
    are predicted once.
    """
    rng = np.random.default_rng(SEED)
    count, width = rows.shape
    base_value = float(np.mean(predict_array(model, background)))
    ends = np.full(count, base_value), model_output(model, rows)
    total = np.zeros((count, width))
    for _ in range(SAMPLED_ORDERS):
        order = rng.permutation(width)
        # inner[step - 1, row, background row]: the background row with the first `step`
        # features of the order taken from the explained row, for the steps between the ends.
        inner = np.broadcast_to(background, (width - 1, count, *background.shape)).copy()
        for step, feature in enumerate(order[:-1], start=1):
            inner[step - 1 :, :, :, feature] = rows[:, feature][:, None]
        path = [ends[0]]  # the mean prediction at each step, per row
        if width > 1:
            predicted = predict_array(model, inner.reshape(-1, width))
            path += list(predicted.reshape(width - 1, count, -1).mean(axis=2))
        path.append(ends[1])
        total[:, order] += np.diff(path, axis=0).T
    return total / SAMPLED_ORDERS, base_value


def model_output(model: Model, rows: np.ndarray) -> np.ndarray:
    """What the attributions add up to: the prediction."""
    return np.asarray(predict_array(model, rows), dtype=float)
{%- endif %}


def explain(model: Model, test: pd.DataFrame) -> dict:
    """explainability.json: the global importance and the attributions of a sample of rows."""
    features, truth = features_and_target(test)
    ranked = sample_rows(len(test), settings.IMPORTANCE_ROWS)
    explained = sample_rows(len(test), settings.ATTRIBUTED_ROWS)
    {%- if cookiecutter.model_framework == "xgboost" %}
    values, base_value = attributions(model, features[explained])
    {%- else %}
    background = features[sample_rows(len(test), BACKGROUND_ROWS)]
    values, base_value = attributions(model, features[explained], background)
    {%- endif %}
    outputs = model_output(model, features[explained])
    return {
        "feature_importance": {
            "method": (
                f"permutation importance: the drop in {settings.PRIMARY_METRIC} when a feature "
                f"is shuffled, {settings.IMPORTANCE_REPEATS} times, in {len(ranked)} test rows"
            ),
            "features": feature_importance(model, features[ranked], truth[ranked]),
        },
        "attributions": {
            "method": ATTRIBUTION_METHOD,
            "unit": ATTRIBUTION_UNIT,
            "base_value": base_value,
            "rows": [
                {
                    "test_row": int(position),
                    "output": float(output),
                    "values": dict(zip(model.features, map(float, row_values), strict=True)),
                }
                for position, output, row_values in zip(explained, outputs, values, strict=True)
            ],
        },
    }
