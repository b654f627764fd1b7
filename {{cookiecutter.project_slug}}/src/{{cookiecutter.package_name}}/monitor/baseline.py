"""The drift baseline: what the training data and the model's test predictions looked like.

The Baseline step writes it beside the model and the registered model package records it, so
each model version carries the baseline its traffic is compared with. The same data always
gives the same bytes. It profiles a uniform sample of at most settings.SAMPLED_ROWS rows of
each split (data.core.sampled; every row of a smaller split), and records the rows profiled
beside the training split's.

Per feature: its kind, its share of missing values, and its distribution:
- numeric: the deciles of the training values as bin edges, and the share of the values in
  each bin they make (below the first edge, between two edges, from the last edge up);
- categorical (`schema.CATEGORICAL_FEATURES`): the share of each code.
The predictions on the test set (the positive class's probability, or the predicted value)
get the same numeric profile, in quintiles.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the check, which imports this module, runs without pandas
    import pandas as pd

from .. import settings
from ..data import schema

BASELINE_FILE = "baseline.json"
FORMAT_VERSION = 1
BINS = 10  # deciles: each bin holds a tenth of the training values
# The test set is small (15 % of the data): quintiles of its predictions, so that each bin's
# share rests on enough of them.
PREDICTION_BINS = 5


def prediction_field() -> str:
    """The key of the value the monitor compares in each prediction the handler returns."""
    return "probability" if settings.PROBLEM_TYPE == "binary_classification" else "prediction"


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """How many of `values` (no NaN) fall in each bin that the ascending inner `edges` make."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)


def bin_shares(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """The share of `values` (no NaN) in each bin that the ascending inner `edges` make."""
    return bin_counts(values, edges) / max(len(values), 1)


def code_label(value: float) -> str:
    """A categorical code as text: 2.0 is "2", 2.5 stays "2.5"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def numeric_profile(values: np.ndarray, bins: int = BINS) -> dict:
    values = np.asarray(values, dtype=float)
    present = values[~np.isnan(values)]
    profile = {"kind": "numeric", "missing": _share(len(values) - len(present), len(values))}
    if not len(present):
        return {**profile, "edges": [], "shares": []}
    quantiles = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(quantiles).tolist()
    return {
        **profile,
        "edges": edges,
        "shares": bin_shares(present, edges).tolist(),
        "min": float(present.min()),
        "max": float(present.max()),
        "mean": float(present.mean()),
        "std": float(present.std()),
    }


def categorical_profile(values: np.ndarray) -> dict:
    values = np.asarray(values, dtype=float)
    present = values[~np.isnan(values)]
    codes, counts = np.unique(present, return_counts=True)
    return {
        "kind": "categorical",
        "missing": _share(len(values) - len(present), len(values)),
        "codes": {
            code_label(code): count / len(present)
            for code, count in zip(codes, counts, strict=True)
        },
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def build(train: "pd.DataFrame", test_predictions: np.ndarray, rows: int | None = None) -> dict:
    """The baseline of the training frame and of the model's predictions on the test set.

    `rows`: the rows of the training split, when `train` is a uniform sample of them
    (data.core.sampled): the profiles are the sample's.
    """
    features = {
        name: (
            categorical_profile(train[name].to_numpy())
            if name in schema.CATEGORICAL_FEATURES
            else numeric_profile(train[name].to_numpy())
        )
        for name in schema.FEATURES
    }
    return {
        "format_version": FORMAT_VERSION,
        "problem_type": settings.PROBLEM_TYPE,
        "rows": rows or len(train),
        "profiled_rows": len(train),
        "features": features,
        "prediction": {
            "field": prediction_field(),
            **numeric_profile(test_predictions, PREDICTION_BINS),
        },
    }


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names it and the fix."""


def load(path: Path) -> dict:
    """Read a baseline written by `build`, refusing one of another schema or problem type."""
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BaselineError(f"{path}: {error.strerror}; run the Baseline step first") from None
    except ValueError:
        raise BaselineError(f"{path}: not a baseline (not JSON); point at baseline.json") from None
    if not isinstance(baseline, dict) or baseline.get("format_version") != FORMAT_VERSION:
        raise BaselineError(
            f"{path}: not a baseline of format {FORMAT_VERSION}; retrain to write a new one"
        )
    if baseline["problem_type"] != settings.PROBLEM_TYPE:
        raise BaselineError(
            f"{path}: a baseline of a {baseline['problem_type']} model, not {settings.PROBLEM_TYPE}"
        )
    if list(baseline["features"]) != list(schema.FEATURES):
        raise BaselineError(
            f"{path}: the baseline's features are not data/schema.py's; retrain to write a new one"
        )
    return baseline
