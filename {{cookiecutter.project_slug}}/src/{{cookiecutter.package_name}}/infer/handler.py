"""The SageMaker inference handler: model_fn -> input_fn -> predict_fn -> output_fn.

Imports only the standard library at module level so that the serving container starts fast;
numpy and joblib load with the model. Requests are `text/csv` (rows of feature values in the
model's feature order, no header) or `application/json` (`{"instances": [...]}` where each
instance is a list in feature order or an object keyed by feature name).
"""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

CSV = "text/csv"
JSON = "application/json"
SUPPORTED = (CSV, JSON)
DECISION_THRESHOLD = 0.5
MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"


class UnsupportedContentTypeError(ValueError):
    """A request or response content type other than text/csv or application/json."""


class InvalidRequestError(ValueError):
    """A request body that does not match the model's features."""


@dataclass(frozen=True)
class Model:
    """A loaded model bundle: the estimator and what it expects."""

    estimator: object
    problem_type: str
    features: tuple[str, ...]


def model_fn(model_dir: str) -> Model:
    """Load the bundle written by `train.core.save`."""
    import joblib

    directory = Path(model_dir)
    if not (directory / METADATA_FILE).is_file():
        raise FileNotFoundError(
            f"{directory}: no model bundle ({METADATA_FILE}); train a model first"
        )
    metadata = json.loads((directory / METADATA_FILE).read_text())
    return Model(
        estimator=joblib.load(directory / MODEL_FILE),
        problem_type=metadata["problem_type"],
        features=tuple(metadata["features"]),
    )


def _media_type(content_type: str | None) -> str:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in SUPPORTED:
        raise UnsupportedContentTypeError(
            f"unsupported content type {content_type!r}; send one of {', '.join(SUPPORTED)}"
        )
    return media_type


def input_fn(request_body: str | bytes, content_type: str) -> list[list]:
    """Parse a request into rows of raw feature values (still unchecked)."""
    media_type = _media_type(content_type)
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    if media_type == CSV:
        return [row for row in csv.reader(io.StringIO(text)) if row]
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"request body is not valid JSON: {error}") from None
    instances = payload.get("instances") if isinstance(payload, dict) else payload
    if not isinstance(instances, list):
        raise InvalidRequestError(
            'JSON requests must be {"instances": [...]} or a list of instances'
        )
    return instances


def _feature_matrix(rows: list, features: tuple[str, ...]):
    """Rows (lists in feature order or objects keyed by feature) as a float matrix."""
    import numpy as np

    if not rows:
        raise InvalidRequestError("the request has no rows")
    ordered = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            missing = [name for name in features if name not in row]
            if missing:
                raise InvalidRequestError(f"row {number} lacks feature(s) {', '.join(missing)}")
            row = [row[name] for name in features]
        if len(row) != len(features):
            raise InvalidRequestError(
                f"row {number} has {len(row)} values; the model expects {len(features)}: "
                + ", ".join(features)
            )
        ordered.append([np.nan if value in ("", None) else value for value in row])
    try:
        return np.asarray(ordered, dtype=float)
    except ValueError as error:
        raise InvalidRequestError(f"feature values must be numbers: {error}") from None


def predict_array(model: Model, features):
    """Positive-class probabilities (binary classification) or predicted values (regression)."""
    if model.problem_type == "binary_classification":
        return model.estimator.predict_proba(features)[:, 1]
    return model.estimator.predict(features)


def predict_fn(rows: list, model: Model) -> list[dict]:
    """Predict every row: `label` and `probability`, or `prediction` for regression."""
    scores = predict_array(model, _feature_matrix(rows, model.features))
    if model.problem_type == "binary_classification":
        return [
            {"label": int(score >= DECISION_THRESHOLD), "probability": float(score)}
            for score in scores
        ]
    return [{"prediction": float(score)} for score in scores]


def output_fn(predictions: list[dict], accept: str) -> tuple[str, str]:
    """Serialise predictions as CSV (one line per row) or JSON (`{"predictions": [...]}`).

    Returns the body and its content type: the serving containers send a (body, type) pair
    with that type, and a bare body with the web server's default type.
    """
    if _media_type(accept or JSON) == JSON:
        return json.dumps({"predictions": predictions}), JSON
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(prediction.values() for prediction in predictions)
    return buffer.getvalue(), CSV
