"""Load and validate the input data against `schema`, and split it for training.

Pure functions of their inputs: the entry point (`__main__.py`) and the tests call them alike.
Each CSV file is checked against the schema on its own, so an error names the file, the column
and the line within that file. Columns the schema does not name are dropped with a warning.
"""

import hashlib
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from . import schema

VALIDATION_FRACTION = 0.15
TEST_FRACTION = 0.15
SPLIT_SEED = 42
MIN_ROWS = 20  # fewer rows leave the validation and test sets too small to mean anything
# Larger magnitudes are refused rather than computed with: squaring them (variance, MSE, the
# baseline's std) would overflow float64 to Infinity, which JSON reports cannot hold.
MAX_MAGNITUDE = 1e150
{%- if cookiecutter.problem_type == "binary_classification" %}
# Stratified splitting puts every class in all three sets: each class needs this many rows.
MIN_ROWS_PER_CLASS = 10

{%- endif %}

log = logging.getLogger(__name__)


class DataValidationError(ValueError):
    """Input data that breaks the schema; the message names the problem and the fix."""


def read_csv_files(path: Path) -> pd.DataFrame:
    """Read one CSV file, or every CSV file in a directory, each validated, into one frame."""
    files = csv_files(path) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise DataValidationError(f"{path}: no CSV file found; pass a CSV file or a folder of them")
    frames = [validate(_read(file), source=str(file)) for file in files]
    frame = pd.concat(frames, ignore_index=True)
    _check_outcomes(frame[schema.TARGET], source=str(path))
    return frame


def csv_files(folder: Path) -> list[Path]:
    """The folder's CSV files, by name; `.CSV` counts, as spreadsheet exports often use it."""
    return sorted(
        path for path in folder.iterdir() if path.suffix.lower() == ".csv" and path.is_file()
    )


def padded_names(header, names) -> list[str]:
    """Header names that are `names` but for spaces around them, which a match would miss."""
    names_in_header = (str(name) for name in header)
    return [name for name in names_in_header if name != name.strip() and name.strip() in names]


def _read(file: Path) -> pd.DataFrame:
    try:
        # -sig: Excel's UTF-8 byte order mark. Blank lines are read, then dropped below, so
        # that each row keeps its line in the file as its index (the header is line 1).
        frame = pd.read_csv(file, encoding="utf-8-sig", skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{file}: the file is empty; add a header and rows") from None
    except UnicodeDecodeError:
        raise DataValidationError(f"{file}: not UTF-8 text; save it as UTF-8 CSV") from None
    except pd.errors.ParserError as error:
        raise DataValidationError(f"{file}: not a valid CSV file: {str(error).strip()}") from None
    if len(frame.columns) == 1:  # tabs or semicolons: the whole header reads as one column
        raise DataValidationError(
            f"{file}: has a single column {frame.columns[0][:60]!r}; is it comma-separated? "
            "save it as CSV with commas between the values"
        )
    frame.index += 2
    return frame.dropna(how="all")


def validate(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check one file's frame against the schema; return the schema's columns, target last."""
    columns = [*schema.FEATURES, schema.TARGET]
    missing = [column for column in columns if column not in frame.columns]
    padded = padded_names(frame.columns, missing)
    if padded:
        raise DataValidationError(
            f"{source}: header names with spaces around them ({', '.join(map(repr, padded))}); "
            "remove the spaces from the header row"
        )
    if missing:
        raise DataValidationError(
            f"{source}: missing column(s) {', '.join(missing)}; add them or update data/schema.py"
        )
    unexpected = [str(column) for column in frame.columns if column not in columns]
    if unexpected:
        log.warning(
            "warning: %s: ignoring column(s) %s: not in data/schema.py (add them to use them)",
            source,
            ", ".join(unexpected),
        )
    if frame.empty:
        raise DataValidationError(f"{source}: the file has a header but no rows; add data rows")
    for column in columns:
        _check_numeric(frame[column], source)
    _check_no_empty_feature(frame, source)
    target = frame[schema.TARGET]
    if target.isna().any():
        raise DataValidationError(
            f"{source}: column {schema.TARGET!r} is empty on line {_csv_line(target.isna())}; "
            "every row needs a target"
        )
{%- if cookiecutter.problem_type == "binary_classification" %}
    unexpected_class = ~target.isin(schema.TARGET_CLASSES)
    if unexpected_class.any():
        raise DataValidationError(
            f"{source}: column {schema.TARGET!r} has {_shown(target[unexpected_class].iloc[0])} "
            f"on line {_csv_line(unexpected_class)}; expected one of {schema.TARGET_CLASSES}"
        )
{%- endif %}
    return frame[columns].astype(float)


def _numbers(values: pd.Series) -> pd.Series:
    """The values as floats, NaN where a value is no number. A number beyond float's range is
    infinite, as float() reads it: pandas 2 (the images') reads 1e999 as no number at all."""
    if pd.api.types.is_numeric_dtype(values):  # pandas read every value as a number
        return values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    unread = numbers.isna() & values.notna()
    numbers[unread] = [_infinite_or_nan(value) for value in values[unread]]
    return numbers


def _infinite_or_nan(value: object) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isinf(number) else math.nan


def _check_numeric(values: pd.Series, source: str) -> None:
    numbers = _numbers(values)
    # Checked on arrays, the masks made only for the message: validation runs per file.
    unread = np.isnan(numbers.to_numpy()) & values.notna().to_numpy()
    if unread.any():
        not_numeric = pd.Series(unread, index=values.index)
        raise DataValidationError(
            f"{source}: column {values.name!r} must be numeric but has "
            f"{_shown(values[not_numeric].iloc[0])} on line {_csv_line(not_numeric)}; "
            "fix the value or the schema in data/schema.py"
        )
    magnitudes = np.abs(numbers.to_numpy())
    unbounded = np.isinf(magnitudes)
    if unbounded.any():
        infinite = pd.Series(unbounded, index=values.index)
        raise DataValidationError(
            f"{source}: column {values.name!r} has {_shown(values[infinite].iloc[0])} on line "
            f"{_csv_line(infinite)}; use a finite number, or leave the value blank if unknown"
        )
    beyond = magnitudes > MAX_MAGNITUDE
    if beyond.any():
        too_large = pd.Series(beyond, index=values.index)
        raise DataValidationError(
            f"{source}: column {values.name!r} has {_shown(values[too_large].iloc[0])} on line "
            f"{_csv_line(too_large)}; magnitudes above {MAX_MAGNITUDE:g} overflow the metrics; "
            "rescale the column (other units) or fix the value"
        )


def _check_no_empty_feature(frame: pd.DataFrame, source: str) -> None:
    """Missing values are allowed, but a feature without any value gives the model nothing."""
    for column in schema.FEATURES:
        if frame[column].isna().all():
            raise DataValidationError(
                f"{source}: column {column!r} has no value at all; fill it in, or remove it "
                "from FEATURES in data/schema.py"
            )


def _check_outcomes(target: pd.Series, source: str) -> None:
    """All files together must hold more than one outcome: one alone teaches nothing."""
    if target.nunique() < 2:
        raise DataValidationError(
            f"{source}: column {schema.TARGET!r} has the single value {_shown(target.iloc[0])}; "
            "a model needs examples of more than one outcome"
        )


def _shown(value) -> str:
    """A value as the user wrote it: numpy scalars as plain Python numbers."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _csv_line(mask: pd.Series) -> int:
    """The file line of the first flagged row: `_read` indexes rows by their line."""
    return int(mask.idxmax())


def drop_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The frame without exact duplicate rows, and how many rows were dropped.

    Copies of a row (the same file twice in the input folder, an export run twice) would land
    in train and test alike and flatter the test metrics. Rows are compared on the schema's
    columns, the only ones kept: rows that differ only in an ignored column, such as an id, are
    the same example to the model. Rows that share their features but not their target are
    kept: they are real, conflicting evidence.
    """
    unique = frame.drop_duplicates(ignore_index=True)
    return unique, len(frame) - len(unique)


def split(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> dict[str, pd.DataFrame]:
    """Split into train, validation and test sets; reproducible for a given seed."""
    if len(frame) < MIN_ROWS:
        raise DataValidationError(
            f"{len(frame)} rows are too few to split into train, validation and test sets; "
            f"provide at least {MIN_ROWS}"
        )
    target = frame[schema.TARGET]
{%- if cookiecutter.problem_type == "binary_classification" %}
    counts = target.value_counts()
    if counts.min() < MIN_ROWS_PER_CLASS:
        raise DataValidationError(
            f"class {_shown(counts.idxmin())} of {schema.TARGET!r} has {counts.min()} row(s); "
            f"each class needs at least {MIN_ROWS_PER_CLASS} to appear in the train, validation "
            "and test sets; add rows of that class"
        )
{%- endif %}
    holdout_fraction = VALIDATION_FRACTION + TEST_FRACTION
    train, holdout = train_test_split(
        frame, test_size=holdout_fraction, random_state=seed, stratify={{ "target" if cookiecutter.problem_type == "binary_classification" else "None" }}
    )
    validation, test = train_test_split(
        holdout,
        test_size=TEST_FRACTION / holdout_fraction,
        random_state=seed,
        stratify={{ "holdout[schema.TARGET]" if cookiecutter.problem_type == "binary_classification" else "None" }},
    )
    parts = {"train": train, "validation": validation, "test": test}
    for name, part in parts.items():
        _check_no_empty_feature(part, f"the {name} set")
{%- if cookiecutter.problem_type == "regression" %}
    for name, part in parts.items():
        if part[schema.TARGET].nunique() < 2:  # no spread: R2 and the fit mean nothing
            value = part[schema.TARGET].iloc[0]
            share = int((target == value).sum())
            raise DataValidationError(
                f"the {name} set's {schema.TARGET!r} has the single value {_shown(value)}: the "
                f"target is nearly constant ({share} of {len(frame)} rows); a regression model "
                "needs a target that varies"
            )
{%- endif %}
    return parts


def manifest(path: Path, rows: int, duplicates: int, parts: dict[str, pd.DataFrame]) -> dict:
    """data.json: the input's files with their SHA-256 digests, one digest of them all, and
    the rows read, dropped and split, so that a model traces back to the very data it saw."""
    files = csv_files(path) if path.is_dir() else [path]
    entries = []
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        entries.append({"file": name, "bytes": file.stat().st_size, "sha256": digest.hexdigest()})
    whole = hashlib.sha256("\n".join(f"{e['file']} {e['sha256']}" for e in entries).encode())
    return {
        "digest": whole.hexdigest(),
        "files": entries,
        "rows": rows,
        "duplicates_dropped": duplicates,
        "splits": {name: len(part) for name, part in parts.items()},
    }
