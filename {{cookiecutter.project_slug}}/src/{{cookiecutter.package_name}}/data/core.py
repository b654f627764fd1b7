"""Load and validate the input data against `schema`, and split it for training.

Pure functions of their inputs: the entry point (`__main__.py`) and the tests call them alike.
"""

from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from . import schema

VALIDATION_FRACTION = 0.15
TEST_FRACTION = 0.15
SPLIT_SEED = 42
MIN_ROWS = 20  # fewer rows leave the validation and test sets too small to mean anything


class DataValidationError(ValueError):
    """Input data that breaks the schema; the message names the problem and the fix."""


def read_csv_files(path: Path) -> pd.DataFrame:
    """Read one CSV file, or every CSV file in a directory, into one validated frame."""
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise DataValidationError(f"{path}: no CSV file found; pass a CSV file or a folder of them")
    frames = []
    for file in files:
        try:
            frames.append(pd.read_csv(file, encoding="utf-8-sig"))  # -sig: Excel's UTF-8 BOM
        except pd.errors.EmptyDataError:
            raise DataValidationError(f"{file}: the file is empty; add a header and rows") from None
        except UnicodeDecodeError:
            raise DataValidationError(f"{file}: not UTF-8 text; save it as UTF-8 CSV") from None
        except pd.errors.ParserError as error:
            raise DataValidationError(f"{file}: not a valid CSV file: {error}") from None
    frame = pd.concat(frames, ignore_index=True)
    return validate(frame, source=str(path))


def validate(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check the frame against the schema; return the schema's columns, target last."""
    columns = [*schema.FEATURES, schema.TARGET]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing column(s) {', '.join(missing)}; add them or update data/schema.py"
        )
    if frame.empty:
        raise DataValidationError(f"{source}: the file has a header but no rows; add data rows")
    for column in columns:
        _check_numeric(frame[column], source)
    target = frame[schema.TARGET]
    if target.isna().any():
        line = _csv_line(target.isna())
        raise DataValidationError(
            f"{source}: column {schema.TARGET!r} is empty on line {line}; every row needs a target"
        )
    if target.nunique() < 2:
        raise DataValidationError(
            f"{source}: column {schema.TARGET!r} has the single value {target.iloc[0]!r}; "
            "a model needs examples of more than one outcome"
        )
{%- if cookiecutter.problem_type == "binary_classification" %}
    unexpected = ~target.isin(schema.TARGET_CLASSES)
    if unexpected.any():
        line = _csv_line(unexpected)
        raise DataValidationError(
            f"{source}: column {schema.TARGET!r} has {target[unexpected].iloc[0]!r} "
            f"on line {line}; expected one of {schema.TARGET_CLASSES}"
        )
{%- endif %}
    return frame[columns].astype(float)


def _check_numeric(values: pd.Series, source: str) -> None:
    numbers = pd.to_numeric(values, errors="coerce")
    not_numeric = numbers.isna() & values.notna()
    if not_numeric.any():
        bad_value = values[not_numeric].iloc[0]
        raise DataValidationError(
            f"{source}: column {values.name!r} must be numeric but has {bad_value!r} "
            f"on line {_csv_line(not_numeric)}; fix the value or the schema in data/schema.py"
        )


def _csv_line(mask: pd.Series) -> int:
    """The CSV line of the first flagged row (line 1 is the header)."""
    return int(mask.to_numpy().argmax()) + 2


def split(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> dict[str, pd.DataFrame]:
    """Split into train, validation and test sets; reproducible for a given seed."""
    if len(frame) < MIN_ROWS:
        raise DataValidationError(
            f"{len(frame)} rows are too few to split into train, validation and test sets; "
            f"provide at least {MIN_ROWS}"
        )
    holdout_fraction = VALIDATION_FRACTION + TEST_FRACTION
    try:  # sklearn refuses a split it cannot stratify; say so as a data problem
        train, holdout = train_test_split(
            frame, test_size=holdout_fraction, random_state=seed, stratify={{ "frame[schema.TARGET]" if cookiecutter.problem_type == "binary_classification" else "None" }}
        )
        validation, test = train_test_split(
            holdout,
            test_size=TEST_FRACTION / holdout_fraction,
            random_state=seed,
            stratify={{ "holdout[schema.TARGET]" if cookiecutter.problem_type == "binary_classification" else "None" }},
        )
    except ValueError as error:
        raise DataValidationError(f"cannot split the data into three sets: {error}") from None
    return {"train": train, "validation": validation, "test": test}
