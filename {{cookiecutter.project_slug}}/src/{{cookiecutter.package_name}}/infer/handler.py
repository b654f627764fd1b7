"""The SageMaker inference handler: model_fn -> input_fn -> predict_fn -> output_fn.

Imports only the standard library at module level so that the serving container starts fast;
numpy and joblib load with the model.

What a request may hold, decided here once (tests/test_infer.py pins each case):
- The body is UTF-8 text (a leading byte-order mark is dropped); other bytes are refused.
- `text/csv`: one row per line, feature values in the model's feature order, no header.
- `application/json`: `{"instances": [...]}` or a bare list of instances, each instance a list
  in feature order or an object keyed by feature name. A single instance sent on its own is
  accepted as one row: an object without an "instances" key, or a top-level list holding no
  list or object (so `[17.99, 10.38, ...]` is one row).
- A feature value is a number or numeric text (CSV is all text). Blank, null and "nan" are
  missing values, which both model frameworks handle, but a row with every value missing is
  refused: there is nothing to predict from.
- Refused, naming the row and feature: text that is not a number; JSON true/false (a flag is
  not a measurement, though Python would read it as 1/0); objects and lists; and infinities, as
  text or as numbers beyond float range, which no training data holds.
- A model bundle file that cannot be loaded is refused naming the file: retrain or re-copy it.
"""

import csv
import io
import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

CSV = "text/csv"
JSON = "application/json"
SUPPORTED = (CSV, JSON)
DECISION_THRESHOLD = 0.5
MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"
JSON_SHAPES = 'send {"instances": [...]}, a list of instances, or a single instance'
VALUE_FIX = "send a finite number, or leave it blank if the value is missing"
SHOWN_LENGTH = 40  # longer values are cut short in messages, which stay one readable line


class UnsupportedContentTypeError(ValueError):
    """A request or response content type other than text/csv or application/json."""


class InvalidRequestError(ValueError):
    """A request body that does not match the model's features."""


class InvalidRowError(InvalidRequestError):
    """A row the model cannot use, located so that callers can name it in their own terms.

    `row` counts from 1; `feature` is None when the problem is the row as a whole.
    """

    def __init__(self, row: int, problem: str, feature: str | None = None):
        self.row, self.problem, self.feature = row, problem, feature
        where = f"row {row}" if feature is None else f"row {row}, feature {feature!r}"
        super().__init__(f"{where}: {problem}")


class InvalidModelError(ValueError):
    """A model bundle file that cannot be loaded: damaged, cut short, or not from training."""


@dataclass(frozen=True)
class Model:
    """A loaded model bundle: the estimator and what it expects."""

    estimator: object
    problem_type: str
    features: tuple[str, ...]


def model_fn(model_dir: str) -> Model:
    """Load the bundle written by `train.core.save`."""
    directory = Path(model_dir)
    if not (directory / METADATA_FILE).is_file():
        raise FileNotFoundError(
            f"{directory}: no model bundle ({METADATA_FILE}); train a model first"
        )
    metadata = _read_metadata(directory / METADATA_FILE)
    return Model(
        estimator=_load_estimator(directory / MODEL_FILE, metadata.get("framework")),
        problem_type=metadata["problem_type"],
        features=tuple(metadata["features"]),
    )


def _unloadable(path: Path, reason: str) -> InvalidModelError:
    return InvalidModelError(
        f"{path}: cannot load the model ({reason}); "
        "retrain the model, or copy the whole model bundle again"
    )


def _read_metadata(path: Path) -> dict:
    """model.json, holding at least the keys that serving reads."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:  # not UTF-8, or not JSON
        metadata = None
    if not isinstance(metadata, dict) or not {"problem_type", "features"} <= metadata.keys():
        raise _unloadable(path, "not the JSON that training writes")
    return metadata


def _load_estimator(path: Path, framework: str | None):
    import joblib

    try:
        return joblib.load(path)
    except ModuleNotFoundError as error:  # a bundle of another project's framework
        needed = f"{framework} (its model.json says)" if framework else f"module {error.name}"
        raise InvalidModelError(
            f"{path}: the model needs {needed}, which is not installed here; "
            f"score it where {framework or error.name} is installed, or retrain it here"
        ) from None
    except Exception as error:  # unpickling damaged bytes can raise almost any exception
        raise _unloadable(path, repr(error)) from None


def media_type(content_type: str | None) -> str:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in SUPPORTED:
        raise UnsupportedContentTypeError(
            f"unsupported content type {content_type!r}; send one of {', '.join(SUPPORTED)}"
        )
    return media_type


def input_fn(request_body: str | bytes, content_type: str) -> list:
    """Parse a request into rows of raw feature values (still unchecked)."""
    kind = media_type(content_type)
    text = decoded(request_body)
    if kind == CSV:
        return csv_rows(text)
    return json_rows(_json_payload(text))


def decoded(request_body: str | bytes) -> str:
    if isinstance(request_body, str):
        return request_body
    try:
        return request_body.decode("utf-8-sig")  # -sig: a byte-order mark is not data
    except UnicodeDecodeError:
        raise InvalidRequestError(
            "request body is not UTF-8 text; send it encoded as UTF-8"
        ) from None


def csv_rows(text: str) -> list[list[str]]:
    """The rows of a CSV request body (the drift check reads captured requests with it too)."""
    if not any(special in text for special in '"\r') and len(text) < csv.field_size_limit():
        # Without quotes or carriage returns, lines and commas are all the csv module would
        # find; splitting is faster, and the drift check reads every captured request so.
        return [line.split(",") for line in text.split("\n") if line]
    try:
        return [row for row in csv.reader(io.StringIO(text)) if row]
    except csv.Error as error:  # e.g. a field beyond the csv module's size limit
        raise InvalidRequestError(
            f"request body is not valid CSV ({error}); send one row of numbers per line"
        ) from None


def _json_payload(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(
            f"request body is not valid JSON ({error}); {JSON_SHAPES}"
        ) from None
    except RecursionError:  # the decoder recurses once per level of nesting
        raise InvalidRequestError(f"request body nests JSON too deeply; {JSON_SHAPES}") from None


def json_rows(payload) -> list:
    """The instances of a parsed JSON request; a single instance sent on its own is one row."""
    if isinstance(payload, dict):
        if "instances" not in payload:
            return [payload]  # one instance keyed by feature name
        payload = payload["instances"]
    elif isinstance(payload, list) and not any(isinstance(item, (list, dict)) for item in payload):
        return [payload]  # one instance in feature order
    if not isinstance(payload, list):
        raise InvalidRequestError(f"the JSON request holds no list of instances; {JSON_SHAPES}")
    return payload


def feature_matrix(rows: list, features: tuple[str, ...]):
    """Rows (lists in feature order or objects keyed by feature) as a float matrix."""
    import numpy as np

    if not rows:
        raise InvalidRequestError("the request has no rows; send at least one")
    values = [_row_values(row, number, features) for number, row in enumerate(rows, start=1)]
    return np.array(values, dtype=float)


def _row_values(row, number: int, features: tuple[str, ...]) -> list[float]:
    """One row's feature values as floats, in feature order; NaN where a value is missing."""
    if isinstance(row, dict):
        missing = [name for name in features if name not in row]
        if missing:
            raise InvalidRowError(
                number,
                f"lacks feature(s) {', '.join(missing)}; add them (blank for a missing value)",
            )
        row = [row[name] for name in features]
    elif not isinstance(row, (list, tuple)):
        raise InvalidRowError(
            number,
            f"{_shown(row)} is not an instance; send a list of values in feature order "
            "or an object keyed by feature name",
        )
    if len(row) != len(features):
        raise InvalidRowError(
            number,
            f"has {len(row)} values; the model expects {len(features)}: " + ", ".join(features),
        )
    values = [feature_value(value, number, name) for value, name in zip(row, features, strict=True)]
    if all(math.isnan(value) for value in values):
        raise InvalidRowError(
            number, "every value is blank or missing; send at least one feature value"
        )
    return values


def feature_value(value, row: int, feature: str) -> float:
    """One feature value as a float; blank, null and "nan" are missing values (NaN)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    number = _as_float(value)
    if number is None:
        raise InvalidRowError(row, f"{_shown(value)} is not a number; {VALUE_FIX}", feature)
    if math.isinf(number):
        raise InvalidRowError(row, f"{_shown(value)} is not finite; {VALUE_FIX}", feature)
    return number


def _as_float(value) -> float | None:
    """The value as a float, or None when it is not a number (true and false are not)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None
    except OverflowError:  # an integer beyond float range
        return math.inf


def _shown(value) -> str:
    """A value as the request spelled it (JSON), cut short to keep messages on one line."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


def predict_array(model: Model, features):
    """Positive-class probabilities (binary classification) or predicted values (regression)."""
    if model.problem_type == "binary_classification":
        return model.estimator.predict_proba(features)[:, 1]
    return model.estimator.predict(features)


def predict_fn(rows: list, model: Model) -> list[dict]:
    """Predict every row: `label` and `probability`, or `prediction` for regression."""
    return answers(model, predict_array(model, feature_matrix(rows, model.features)))


def prediction_columns(model: Model, scores) -> dict:
    """The model's scores (predict_array) as the answer's columns: `label` and `probability`,
    or `prediction` for regression; each an array, one value per row."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)  # XGBoost's float32, written as the endpoint does
    if model.problem_type == "binary_classification":
        return {"label": (scores >= DECISION_THRESHOLD).astype(int), "probability": scores}
    return {"prediction": scores}


def answers(model: Model, scores) -> list[dict]:
    """The model's scores (predict_array) as the endpoint answers them, one dict per row."""
    columns = prediction_columns(model, scores)
    rows = zip(*(column.tolist() for column in columns.values()), strict=True)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def output_fn(predictions: list[dict], accept: str) -> tuple[str, str]:
    """Serialise predictions as CSV (one line per row) or JSON (`{"predictions": [...]}`).

    Returns the body and its content type: the serving containers send a (body, type) pair
    with that type, and a bare body with the web server's default type.
    """
    if media_type(accept or JSON) == JSON:
        return json.dumps({"predictions": predictions}), JSON
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(prediction.values() for prediction in predictions)
    return buffer.getvalue(), CSV
