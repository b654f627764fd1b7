"""Scoring a CSV file with a header: every input line gets its predictions appended, in order.

The rules are the endpoint's (handler.py): the same values are refused or read as missing, with
the same messages, located as the file's line (the header is line 1) and column. A file without
quotes or carriage returns, which is what most exports are, is scored in columns: pandas parses
the feature columns at once, only a column holding text is checked value by value, and each
output line is the input line as it was (no input value reformatted) with the predictions after
it. A file with quotes goes through the csv module row by row, as a request would, and is
rewritten by it. Both give one output line per input line, or an error naming the line.

A file is scored BATCH_ROWS rows at a time, so memory holds a chunk of it, never the file; the
output is written under a partial name and takes its own only once the whole file is scored.
"""

import csv
import io
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
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
BATCH_ROWS = 100_000


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

    Raises InvalidRequestError (InvalidRowError located by line); `target` is then left as it
    was, whatever was scored before the error.
    """
    if source.is_dir():  # one output file per input file, so a folder's files are not merged
        raise InvalidRequestError("is a folder; pass one CSV file of it, and run once per file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    rows = records = 0
    try:
        # -sig: Excel's UTF-8 byte-order mark; newline="": the csv module reads line breaks.
        with (
            source.open(encoding="utf-8-sig", newline="") as stream,
            partial.open("w") as output,
        ):
            scored = score_quoted if quoted(source) else score_lines
            for count, lines in scored(model, stream):
                rows += count
                records += sum(1 for line in lines if output.write(line))
        os.replace(partial, target)
    except UnicodeDecodeError:
        partial.unlink(missing_ok=True)
        raise InvalidRequestError("not UTF-8 text; save it as UTF-8 CSV") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return rows, records - 1  # the header is not a row


def quoted(source: Path) -> bool:
    """Whether the file holds a quote or a carriage return: then the csv module reads it."""
    with source.open("rb") as stream:
        blocks = iter(lambda: stream.read(1 << 20), b"")
        return any(b'"' in block or b"\r" in block for block in blocks)


def _offset(error: InvalidRowError, rows_before: int) -> InvalidRowError:
    """A chunk's row error as the file's: its row counted from the file's first row."""
    return InvalidRowError(error.row + rows_before, error.problem, error.feature)


def score_lines(model: Model, stream) -> Iterator[tuple[int, Iterable[str]]]:
    """Score a file whose lines are its rows (no quotes), a chunk at a time: for each chunk,
    the rows scored and the output lines (each input line, predictions appended)."""
    header_line = read_header(stream)
    header = header_line.split(",")
    check_columns(header, model.features)
    rows = 0
    for text, rows_before in line_chunks(stream, len(header)):
        try:
            count, scored = score_chunk(model, header_line, header, text, rows_before)
        except InvalidRowError as error:
            raise _offset(error, rows_before) from None
        yield count, scored
        rows += count
    if not rows:
        raise InvalidRequestError("the file has a header but no rows; add at least one")


def read_header(stream) -> str:
    """The header line of a file read line by line."""
    header_line = stream.readline().removesuffix("\n")
    if not header_line:
        raise InvalidRequestError("the file is empty; expected a header row and data rows")
    return header_line


def line_chunks(stream, fields: int, rows: int | None = None) -> Iterator[tuple[str, int]]:
    """The lines after the header of a file without quotes, `rows` (BATCH_ROWS) at a time, each
    chunk as one text (its lines joined by line breaks) with the rows before it; a line of
    another field count than `fields` is an error naming it."""
    rows_before = 0
    for chunk in itertools.batched(stream, rows or BATCH_ROWS):
        text = "".join(chunk).removesuffix("\n")
        check_widths(text.encode(), fields, rows_before)
        yield text, rows_before
        rows_before += len(chunk)


def check_widths(lines: bytes, fields: int, rows_before: int) -> None:
    """Raise naming the first of `lines` (UTF-8, joined by line breaks, after `rows_before`
    rows of the file) whose field count is not `fields`.

    numpy counts the commas over the bytes: counted line by line in Python, a drift check of a
    scored batch took longer than pandas took to parse it.
    """
    import numpy as np

    data = np.frombuffer(lines, dtype=np.uint8)  # in UTF-8 no other byte is a comma or \n
    line_ends = np.append(np.flatnonzero(data == ord("\n")), len(data))
    commas_before = np.searchsorted(np.flatnonzero(data == ord(",")), line_ends)
    widths = np.diff(commas_before, prepend=0) + 1
    wrong = np.flatnonzero(widths != fields)
    if wrong.size:
        first = int(wrong[0])
        raise InvalidRequestError(
            f"line {rows_before + 2 + first} has {widths[first]} fields but the header has {fields}"
        )


def score_chunk(
    model: Model, header_line: str, header: list[str], text: str, rows_before: int
) -> tuple[int, Iterable[str]]:
    """One chunk of rows (line_chunks) scored; the output lines start with the header's for the
    first."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(
        io.StringIO(f"{header_line}\n{text}"),
        usecols=list(model.features),
        keep_default_na=False,  # blank is missing; "NA" or "null" is text, as at the endpoint
        na_values=[""],
        skip_blank_lines=False,
        low_memory=False,
    )
    features = np.empty((len(frame), len(model.features)))
    lines = text.split("\n")
    numbered = [header_line, *lines]  # the chunk's row n is numbered[n], as in the file
    for position, name in enumerate(model.features):
        features[:, position] = column_values(frame[name], name, numbered, header.index(name))
    missing = np.isnan(features).all(axis=1)
    if missing.any():
        raise InvalidRowError(
            int(np.argmax(missing)) + 1,
            "every value is blank or missing; send at least one feature value",
        )
    scored = pd.DataFrame(prediction_columns(model, predict_array(model, features)))
    clashing(header, scored.columns)
    appended = scored.to_csv(header=False, index=False, lineterminator="\n").splitlines()
    body = (f"{line},{scores}\n" for line, scores in zip(lines, appended, strict=True))
    if rows_before:
        return len(appended), body
    return len(appended), itertools.chain([",".join([header_line, *scored.columns]) + "\n"], body)


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


def score_quoted(model: Model, stream) -> Iterator[tuple[int, Iterable[str]]]:
    """Score a file with quotes through the csv module and the endpoint's predict_fn, a chunk
    of rows at a time: the CSV records, predictions appended, one text per row (a quoted value
    may hold a line break). A row whose field count differs from the header's is an error."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if not header:
            raise InvalidRequestError("the file is empty; expected a header row and data rows")
        check_columns(header, model.features)
        writer = None
        rows_before = 0
        for chunk in itertools.batched(reader, BATCH_ROWS):
            for number, values in enumerate(chunk):
                if len(values) != len(header):
                    line = reader.line_num - (len(chunk) - 1 - number)
                    raise InvalidRequestError(
                        f"line {line} has {len(values)} fields but the header has {len(header)}"
                    )
            rows = [dict(zip(header, values, strict=True)) for values in chunk]
            try:
                predictions = predict_fn(rows, model)
            except InvalidRowError as error:
                raise _offset(error, rows_before) from None
            records = []
            if writer is None:  # the first chunk: the header's record first
                clashing(header, predictions[0])
                names = [*header, *predictions[0]]
                writer = csv.DictWriter(_Echo(), fieldnames=names, lineterminator="\n")
                records.append(writer.writeheader())
            records += [
                writer.writerow({**row, **score})
                for row, score in zip(rows, predictions, strict=True)
            ]
            yield len(rows), records
            rows_before += len(rows)
    except csv.Error as error:  # e.g. a field beyond the csv module's size limit
        raise InvalidRequestError(
            f"line {reader.line_num} is not valid CSV ({error}); fix that line"
        ) from None
    if not rows_before:
        raise InvalidRequestError("the file has a header but no rows; add at least one")


class _Echo:
    """A file whose write returns the text: csv writers then return each record they make."""

    def write(self, text: str) -> str:
        return text


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
