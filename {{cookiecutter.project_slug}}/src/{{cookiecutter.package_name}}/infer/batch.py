"""Scoring a CSV file with a header: every input line gets its predictions appended, in order.

The rules are the endpoint's (handler.py): the same values are refused or read as missing, with
the same messages, located as the file's line (the header is line 1) and column. A file without
quotes or carriage returns, which is what most exports are, is scored in columns: pandas parses
the feature columns at once, only a column holding text is checked value by value, and each
output line is the input line as it was (no input value reformatted) with the predictions after
it. A file with quotes goes through the csv module row by row, as a request would, and is
rewritten by it. Both give one output line per input line, or an error naming the line.
"""

import csv
import io
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path

from .handler import (
    InvalidRequestError,
    InvalidRowError,
    Model,
    feature_value,
    predict_array,
    predict_fn,
    prediction_columns,
)

# What a batch's output folder holds beside the scored files: what was scored, with what.
MANIFEST_FILE = "manifest.json"


class FileScoringError(InvalidRequestError):
    """One file of a batch could not be scored; the message names the file (and line)."""

    def __init__(self, name: str, error: InvalidRequestError):
        problem = located(error) if isinstance(error, InvalidRowError) else str(error)
        super().__init__(f"{name}: {problem}")


def batch_files(source: Path) -> list[Path]:
    """The CSV files of a batch: `source` itself, or every *.csv under the folder, in name order.

    Names starting with "_" or "." are markers or hidden files (Spark's _SUCCESS, say) and are
    left out; any other file is refused, so that no data is skipped without a word.
    """
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise InvalidRequestError("no such file or folder")
    found, others = [], []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith(("_", ".")):
            continue
        (found if path.suffix.lower() == ".csv" else others).append(path)
    if others:
        raise InvalidRequestError(
            f"{others[0].relative_to(source)} is not a CSV file; a batch holds *.csv files only"
            " (names starting with _ or . are skipped)"
        )
    if not found:
        raise InvalidRequestError("holds no CSV file; put the batch's *.csv files there")
    return found


def score_batch(
    model: Model, source: Path, output_dir: Path, name_of: Callable[[Path], str] = str
) -> list[dict]:
    """Score each CSV file of `source` into the same name under `output_dir`; per file, its
    name and the rows in and out. `name_of` names an input in messages (its S3 URI, say).

    A batch is scored whole or not at all: on an error the files written are removed, and a
    FileScoringError names the file and line. An output folder that holds files is refused
    before anything is scored, so no earlier batch is overwritten.
    """
    files = batch_files(source)
    if output_dir.is_dir() and any(path.is_file() for path in output_dir.rglob("*")):
        raise FileExistsError(f"{output_dir} already holds files; score into an empty folder")
    scored, written = [], []
    try:
        for path in files:
            relative = path.relative_to(source) if source.is_dir() else Path(path.name)
            written.append(output_dir / relative)
            try:
                rows_in, rows_out = score_file(model, path, written[-1])
            except InvalidRequestError as error:
                raise FileScoringError(name_of(path), error) from None
            if rows_in != rows_out:
                raise FileScoringError(
                    name_of(path),
                    InvalidRequestError(f"{rows_in} rows read but {rows_out} written"),
                )
            scored.append({"file": relative.as_posix(), "rows_in": rows_in, "rows_out": rows_out})
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        raise
    return scored


def score_file(model: Model, source: Path, target: Path) -> tuple[int, int]:
    """Write `source`'s lines with the model's predictions to `target`; the rows read from
    `source` and the rows written to `target`, which a caller checks are equal.

    Raises InvalidRequestError (InvalidRowError located by line) before `target` is opened.
    """
    if source.is_dir():  # one output file per input file, so a folder's files are not merged
        raise InvalidRequestError("is a folder; pass one CSV file of it, and run once per file")
    try:
        text = source.read_bytes().decode("utf-8-sig")  # -sig: Excel's UTF-8 byte-order mark
    except UnicodeDecodeError:
        raise InvalidRequestError("not UTF-8 text; save it as UTF-8 CSV") from None
    if '"' in text or "\r" in text:
        header, rows = read_rows(text)
        check_columns(header, model.features)
        count, lines = len(rows), score_rows(model, header, rows)
    else:
        count, lines = score_lines(model, text)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as output:
        records = sum(1 for line in lines if output.write(line))
    return count, records - 1  # the header is not a row


def score_lines(model: Model, text: str) -> tuple[int, Iterable[str]]:
    """Score a file whose lines are its rows (no quotes): the rows scored, and the output
    lines (each input line, predictions appended), made as they are written."""
    import numpy as np
    import pandas as pd

    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines or not lines[0]:
        raise InvalidRequestError("the file is empty; expected a header row and data rows")
    if len(lines) == 1:
        raise InvalidRequestError("the file has a header but no rows; add at least one")
    header = lines[0].split(",")
    check_columns(header, model.features)
    commas = len(header) - 1
    for number, line in enumerate(lines[1:], start=2):
        if line.count(",") != commas:
            raise InvalidRequestError(
                f"line {number} has {line.count(',') + 1} fields but the header has {len(header)}"
            )
    frame = pd.read_csv(
        io.StringIO(text),
        usecols=list(model.features),
        keep_default_na=False,  # blank is missing; "NA" or "null" is text, as at the endpoint
        na_values=[""],
        skip_blank_lines=False,
        low_memory=False,
    )
    features = np.empty((len(frame), len(model.features)))
    for position, name in enumerate(model.features):
        features[:, position] = column_values(frame[name], name, lines, header.index(name))
    missing = np.isnan(features).all(axis=1)
    if missing.any():
        raise InvalidRowError(
            int(np.argmax(missing)) + 1,
            "every value is blank or missing; send at least one feature value",
        )
    scored = pd.DataFrame(prediction_columns(model, predict_array(model, features)))
    clashing(header, scored.columns)
    appended = scored.to_csv(header=False, index=False, lineterminator="\n").splitlines()
    header_line = ",".join([lines[0], *scored.columns]) + "\n"
    body = (f"{line},{scores}\n" for line, scores in zip(lines[1:], appended, strict=True))
    return len(appended), itertools.chain([header_line], body)


def column_values(column, name: str, lines: list[str], index: int):
    """One feature column as floats, refusing as the endpoint does; NaN where blank."""
    import numpy as np

    if column.dtype.kind in "fiu":  # pandas read every value as a number
        values = column.to_numpy(dtype=float)
        infinite = np.isinf(values)
        if infinite.any():  # refused in the file's own spelling of it
            row = int(np.argmax(infinite)) + 1
            feature_value(lines[row].split(",")[index], row, name)
        return values
    # Text somewhere in the column (or true/false): each value as the endpoint reads it.
    return np.array(
        [feature_value(value, row, name) for row, value in enumerate(column.tolist(), start=1)]
    )


def read_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of CSV text; a row whose field count differs is an error."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header:
            raise InvalidRequestError("the file is empty; expected a header row and data rows")
        rows = []
        for values in reader:
            if len(values) != len(header):
                raise InvalidRequestError(
                    f"line {reader.line_num} has {len(values)} fields but the header has "
                    f"{len(header)}"
                )
            rows.append(dict(zip(header, values, strict=True)))
    except csv.Error as error:  # e.g. a field beyond the csv module's size limit
        raise InvalidRequestError(
            f"line {reader.line_num} is not valid CSV ({error}); fix that line"
        ) from None
    return header, rows


class _Echo:
    """A file whose write returns the text: csv writers then return each record they make."""

    def write(self, text: str) -> str:
        return text


def score_rows(model: Model, header: list[str], rows: list[dict[str, str]]) -> list[str]:
    """Score rows through the endpoint's predict_fn: the CSV records, predictions appended,
    one text per row (a quoted value may hold a line break)."""
    predictions = predict_fn(rows, model)
    clashing(header, predictions[0])
    writer = csv.DictWriter(_Echo(), fieldnames=[*header, *predictions[0]], lineterminator="\n")
    records = zip(rows, predictions, strict=True)
    return [writer.writeheader(), *(writer.writerow({**row, **score}) for row, score in records)]


def check_columns(header: list[str], features: tuple[str, ...]) -> None:
    """Refuse a file that lacks a feature column, naming every missing one."""
    from ..data.core import padded_names

    missing = [name for name in features if name not in header]
    padded = padded_names(header, missing)
    if padded:
        raise InvalidRequestError(
            f"header names with spaces around them ({', '.join(map(repr, padded))}); "
            "remove the spaces from the header row"
        )
    if missing:
        raise InvalidRequestError(
            f"missing column(s) {', '.join(missing)}; the model needs a column for each feature"
        )


def clashing(header: list[str], prediction_names) -> None:
    clashes = sorted(set(header) & set(prediction_names))
    if clashes:
        raise InvalidRequestError(
            f"already has column(s) {', '.join(clashes)}; rename them, as the predictions are "
            "written under those names"
        )


def located(error: InvalidRowError) -> str:
    """The error in the file's terms: data row N is line N + 1, as the header is line 1."""
    column = "" if error.feature is None else f", column {error.feature!r}"
    return f"line {error.row + 1}{column}: {error.problem}"
