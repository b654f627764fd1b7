"""Read captured traffic: what an endpoint was asked and answered, as the drift check needs it.

Two sources:
- SageMaker data capture: JSON Lines files, one record per request, which the endpoint writes
  under <DataCaptureUri><endpoint>/<variant>/yyyy/mm/dd/hh/. Each request is parsed by the
  serving handler's own rules (`infer.handler.input_fn`), in either content type, and each
  response gives the predictions.
- CSV files with a header, one or a folder of them (a batch the scoring pipeline scored): a
  column per feature, and the prediction columns that batch prediction writes
  (`python -m <package>.infer`). Their other columns (ids, the target) are not checked.

The traffic is read in chunks (`chunks`) of at most CHUNK_ROWS rows or capture lines, which
the drift check counts as they come (`drift.Tally`): memory holds a chunk, not the traffic.

A line that is not a capture record stops the check, naming the file and line: the file is
damaged, and a check of the rest would mislead. A request the endpoint could not parse either,
or a row whose features differ from the schema, is data: the schema check counts it.
"""

import base64
import binascii
import csv
import io
import itertools
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ..data import schema
from ..infer.handler import (
    CSV,
    JSON,
    InvalidRequestError,
    UnsupportedContentTypeError,
    csv_rows,
    decoded,
    json_rows,
    media_type,
)
from .baseline import prediction_field

# Rows of a CSV file, or lines of capture files, read at a time.
CHUNK_ROWS = 100_000
WIDTH_BLOCK = 1 << 24  # bytes of a CSV file whose field counts are checked at a time
# The column of the prediction in a CSV response (handler.output_fn writes its keys in order).
CSV_PREDICTION_COLUMN = {"probability": 1, "prediction": 0}
MISSING_TEXT = ("", "nan")  # what the handler reads as a missing value


class CaptureError(ValueError):
    """Captured traffic that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Traffic:
    """Captured rows as the drift check compares them with the baseline."""

    values: dict[str, np.ndarray]  # per feature, of each row that fits the schema: a float,
    # NaN where missing or not a number
    rows: int  # rows of readable requests, those off the schema included
    off_schema_rows: int  # rows with too few or too many values, or unknown feature names
    unexpected_features: dict[str, int]  # unknown feature names in JSON or CSV rows: count
    unreadable_requests: int  # request bodies that no row could be read from
    missing: dict[str, int]  # per feature: rows without a value
    invalid: dict[str, int]  # per feature: values that are not finite numbers
    predictions: np.ndarray  # the predictions of every response that could be read
    sources: tuple[str, ...]

    @property
    def valued_rows(self) -> int:
        """The rows the feature checks compare: those with every feature of the schema."""
        return len(next(iter(self.values.values()), ()))


class _Collector:
    """Gathers rows and predictions request by request, then converts them all at once."""

    def __init__(self, *sources: str) -> None:
        self.features = schema.FEATURES
        self.known = frozenset(self.features)
        self.field = prediction_field()
        self.raw: list[list] = []
        self.rows = self.off_schema = self.unreadable = 0
        self.unexpected: Counter[str] = Counter()
        self.predictions: list[float] = []  # from CSV files
        self.requests: list[tuple[str, str | bytes]] = []  # captured requests, unread
        self.outputs: list[tuple[str | None, str]] = []  # captured responses
        self.sources: list[str] = list(sources)

    def add_row(self, row) -> None:
        self.rows += 1
        if isinstance(row, dict):
            unknown = [str(name) for name in row if name not in self.known]
            self.unexpected.update(unknown)
            if unknown or len(row) != len(self.features):
                self.off_schema += 1
            if len(row) - len(unknown) == len(self.features):  # every feature is there
                self.raw.append([row[name] for name in self.features])
        elif isinstance(row, list) and len(row) == len(self.features):
            self.raw.append(row)
        else:
            self.off_schema += 1

    def add_csv_row(self, row, header, positions, field, path, line) -> None:
        """One row of a CSV file: its feature values, and its prediction if it has one."""
        if len(row) != len(header):
            raise CaptureError(
                f"{path}: line {line} has {len(row)} fields but the header has {len(header)}"
            )
        self.rows += 1
        self.raw.append([row[position] for position in positions])
        if field is not None and row[field].strip():
            try:
                self.predictions.append(float(row[field]))
            except ValueError:
                raise CaptureError(
                    f"{path}: line {line}: {self.field} {row[field]!r} is not a number"
                ) from None

    def add_request(self, content_type: str, body, output_type: str | None, output) -> None:
        """Note one captured request and response; `traffic` reads them all at once."""
        self.requests.append((content_type, body))
        if output is not None:
            self.outputs.append((output_type, output))

    def _read_requests(self) -> None:
        """Each request's rows, by the handler's rules; JSON bodies in one parse, for speed."""
        texts: dict[str, list[str]] = {CSV: [], JSON: []}
        for content_type, body in self.requests:
            try:
                texts[media_type(content_type)].append(decoded(body))
            except (InvalidRequestError, UnsupportedContentTypeError):
                self.unreadable += 1
        size = len(self.features)
        for text in texts[CSV]:
            try:
                rows = csv_rows(text)
            except InvalidRequestError:
                self.unreadable += 1
                continue
            fitting = [row for row in rows if len(row) == size]
            self.rows += len(rows)
            self.off_schema += len(rows) - len(fitting)
            self.raw.extend(fitting)
        with_bools = [text for text in texts[JSON] if "true" in text or "false" in text]
        plain = [text for text in texts[JSON] if not ("true" in text or "false" in text)]
        payloads, failed = _json_values(plain)
        flagged, failed_too = _json_values(with_bools)
        self.unreadable += failed + failed_too
        for payload in [*payloads, *map(_bools_as_text, flagged)]:
            try:
                rows = json_rows(payload)
            except InvalidRequestError:
                self.unreadable += 1
                continue
            for row in rows:
                self.add_row(row)
        self.requests = []

    def traffic(self) -> Traffic:
        self._read_requests()
        columns = list(zip(*self.raw, strict=True)) or [()] * len(self.features)
        values, missing, invalid = {}, {}, {}
        for name, column in zip(self.features, columns, strict=True):
            values[name], missing[name], invalid[name] = _numbers(column)
        return Traffic(
            values=values,
            rows=self.rows,
            off_schema_rows=self.off_schema,
            unexpected_features=dict(sorted(self.unexpected.items())),
            unreadable_requests=self.unreadable,
            missing=missing,
            invalid=invalid,
            predictions=np.array(self.predictions + _predictions(self.outputs), dtype=float),
            sources=tuple(self.sources),
        )


def _bools_as_text(payload):
    """JSON true and false as text, so they count as invalid values (the handler refuses them)."""
    if isinstance(payload, bool):
        return json.dumps(payload)
    if isinstance(payload, list):
        return [_bools_as_text(item) for item in payload]
    if isinstance(payload, dict):
        return {key: _bools_as_text(value) for key, value in payload.items()}
    return payload


def _numbers(column: tuple) -> tuple[np.ndarray, int, int]:
    """A column's values as floats (NaN where missing or invalid), and both counts."""
    try:  # the common case, a column of numbers (or numeric text): at C speed
        numbers = np.fromiter(map(float, column), dtype=float, count=len(column))
        missing = int(np.isnan(numbers).sum())  # "nan" is how the handler spells missing too
    except (TypeError, ValueError):
        numbers = np.array([_number(value) for value in column], dtype=float)
        missing = sum(1 for value in column if _is_missing(value))
    infinite = np.isinf(numbers)
    numbers[infinite] = np.nan
    invalid = int(np.isnan(numbers).sum()) - missing
    return numbers, missing, invalid


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TEXT
    return isinstance(value, float) and np.isnan(value)


def _predictions(outputs: list[tuple[str | None, str]]) -> list[float]:
    """The predicted values in the captured responses; error responses hold none."""
    field = prediction_field()
    bodies: dict[str, list[str]] = {JSON: [], CSV: []}
    for content_type, body in outputs:
        media_type = (content_type or "").split(";")[0].strip().lower()
        bodies.get(media_type, []).append(body)
    values = []
    for payload in _json_values(bodies[JSON])[0]:
        predictions = payload.get("predictions") if isinstance(payload, dict) else None
        for item in predictions if isinstance(predictions, list) else []:
            if isinstance(item, dict) and isinstance(item.get(field), int | float):
                values.append(float(item[field]))
    column = CSV_PREDICTION_COLUMN[field]
    for line in csv.reader(io.StringIO("\n".join(bodies[CSV]))):
        try:
            values.append(float(line[column]))
        except (IndexError, ValueError):  # a blank line, or an error message
            continue
    return values


def _json_values(texts: list[str]) -> tuple[list, int]:
    """Each JSON text parsed (in one call when all parse), and how many did not parse."""
    try:
        values = json.loads("[" + ",".join(texts) + "]")
        if len(values) == len(texts):  # else a text held more than one value
            return values, 0
    except (json.JSONDecodeError, RecursionError):
        pass
    parsed = []
    for text in texts:
        try:
            parsed.append(json.loads(text))
        except (json.JSONDecodeError, RecursionError):
            continue
    return parsed, len(texts) - len(parsed)


def _payload(part: dict, where: str) -> tuple[str, str | bytes]:
    """The content type and body of a captured request or response."""
    data = part["data"]
    if part.get("encoding", "").upper() == "BASE64":  # a content type capture did not list
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise CaptureError(
                f"{where}: its BASE64 data does not decode; the file is damaged"
            ) from None
    return part.get("observedContentType", ""), data


def read_records(
    numbered: list[tuple[int, str]], source: str, collector: _Collector, window=None
) -> None:
    """Add each capture record of (line number, line) pairs of a JSON Lines file; `window` is
    (since, until) or None."""
    collector.sources.append(source)
    for number, record in _parsed_lines(numbered, source):
        where = f"{source}: line {number}"
        try:
            capture = record["captureData"]
            content_type, body = _payload(capture["endpointInput"], where)
            output = capture.get("endpointOutput")
            output_type, output_body = _payload(output, where) if output else (None, None)
            made = record["eventMetadata"]["inferenceTime"] if window else None
        except (KeyError, TypeError, AttributeError):
            raise CaptureError(
                f"{where}: not a SageMaker data-capture record (it needs captureData."
                "endpointInput with data, and eventMetadata.inferenceTime); check only "
                "data-capture files"
            ) from None
        if window and not _within(made, window, where):
            continue
        if isinstance(output_body, bytes):
            output_body = output_body.decode("utf-8", errors="replace")
        collector.add_request(content_type, body, output_type, output_body)


def _parsed_lines(numbered: list[tuple[int, str]], source: str) -> list[tuple[int, object]]:
    """Each line's number and JSON value; one parse for them all when all parse."""
    try:
        values = json.loads("[" + ",".join(line for _, line in numbered) + "]")
        if len(values) == len(numbered):  # else a line held more than one value
            return [(number, value) for (number, _), value in zip(numbered, values, strict=True)]
    except json.JSONDecodeError:
        pass
    parsed = []
    for number, line in numbered:
        try:
            parsed.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise CaptureError(
                f"{source}: line {number}: not JSON ({error.msg}); the capture file is damaged: "
                "restore it, or move it out of the folder checked"
            ) from None
    return parsed


def _within(inference_time, window: tuple[datetime, datetime], where: str) -> bool:
    since, until = window
    try:
        made = datetime.fromisoformat(inference_time)
    except (TypeError, ValueError):
        raise CaptureError(
            f"{where}: inferenceTime {inference_time!r} is not an ISO 8601 time"
        ) from None
    return since <= (made if made.tzinfo else made.replace(tzinfo=UTC)) < until


def read_csv(path: Path) -> Iterator[Traffic]:
    """The rows of a CSV file with a header (batch input or output), CHUNK_ROWS at a time: its
    feature columns, and its predictions where batch prediction wrote them. Other columns (ids,
    the target) are not what the model reads, and batch scoring keeps them: they are not
    checked. A file without quotes (what batch scoring writes) has its lines' field counts
    checked as batch scoring checks them, then is parsed by pandas; one with quotes is read row
    by row by the csv module."""
    from ..infer.batch import quoted

    try:
        yield from (_quoted_csv(path) if quoted(path) else _plain_csv(path))
    except UnicodeDecodeError:
        raise CaptureError(f"{path}: not UTF-8 text; save it as UTF-8 CSV") from None


def _plain_csv(path: Path) -> Iterator[Traffic]:
    import pandas as pd

    from ..infer.batch import read_header

    collector = _Collector(str(path))
    with path.open(newline="", encoding="utf-8-sig") as file:
        try:
            header = read_header(file).split(",")
        except InvalidRequestError as error:
            raise CaptureError(f"{path}: {error}") from None
    _check_features(header, collector, path)
    _check_widths(path, len(header))
    columns = [*collector.features, *[collector.field] * (collector.field in header)]
    rows_before, read = 0, False
    chunks = pd.read_csv(
        path,
        usecols=columns,
        keep_default_na=False,
        na_values=[""],
        chunksize=CHUNK_ROWS,
        encoding="utf-8-sig",
    )
    with chunks:
        for frame in chunks:
            yield _frame_traffic(frame, collector, path, rows_before)
            rows_before, read = rows_before + len(frame), True
    if not read:
        yield collector.traffic()


def _check_widths(path: Path, fields: int) -> None:
    """Refuse, naming it, the first line whose field count is not the header's, as batch
    scoring does; read WIDTH_BLOCK bytes at a time, before pandas parses the file (it would
    fill a short line with missing values)."""
    from ..infer.batch import check_widths

    with path.open("rb") as file:
        file.readline()  # the header
        rows_before, rest = 0, b""
        try:
            for block in iter(lambda: file.read(WIDTH_BLOCK), b""):
                lines, ended, rest = (rest + block).rpartition(b"\n")
                if ended:
                    check_widths(lines, fields, rows_before)
                    rows_before += lines.count(b"\n") + 1
            if rest:  # the last line, without a line break
                check_widths(rest, fields, rows_before)
        except InvalidRequestError as error:
            raise CaptureError(f"{path}: {error}") from None


def _check_features(header: list[str], collector: "_Collector", path: Path) -> None:
    missing = [name for name in collector.features if name not in header]
    if missing:
        raise CaptureError(f"{path}: no column for feature(s) {', '.join(missing)}")


def _frame_traffic(frame, collector: "_Collector", path: Path, rows_before: int) -> Traffic:
    """A chunk pandas parsed, as the traffic its rows are: numeric columns whole, a column
    holding text value by value, as a request's values are read."""
    values, missing, invalid = {}, {}, {}
    for name in collector.features:
        values[name], missing[name], invalid[name] = _column_numbers(frame[name])
    predictions = np.empty(0)
    if collector.field in frame:
        column = frame[collector.field]
        if column.dtype.kind in "fiu":
            predictions = column.to_numpy(dtype=float)
        else:
            numbered = enumerate(column.tolist())
            read = [
                _prediction(value, n, collector.field, path, rows_before) for n, value in numbered
            ]
            predictions = np.array(read, dtype=float)
        predictions = predictions[~np.isnan(predictions)]
    return Traffic(
        values=values,
        rows=len(frame),
        off_schema_rows=0,
        unexpected_features={},
        unreadable_requests=0,
        missing=missing,
        invalid=invalid,
        predictions=predictions,
        sources=(str(path),),
    )


def _column_numbers(column) -> tuple[np.ndarray, int, int]:
    """A parsed column's values as floats (NaN where missing or invalid), and both counts."""
    if column.dtype.kind not in "fiu":  # text somewhere: each value as a request's
        return _numbers(tuple(column.tolist()))
    numbers = column.to_numpy(dtype=float)
    missing = int(np.isnan(numbers).sum())
    infinite = np.isinf(numbers)
    numbers[infinite] = np.nan
    return numbers, missing, int(infinite.sum())


def _prediction(value, number: int, field: str, path: Path, rows_before: int) -> float:
    if isinstance(value, str) and not value.strip():
        return np.nan
    try:
        return float(value)
    except ValueError:
        line = rows_before + number + 2
        raise CaptureError(f"{path}: line {line}: {field} {value!r} is not a number") from None


def _quoted_csv(path: Path) -> Iterator[Traffic]:
    collector = _Collector(str(path))
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        _check_features(header, collector, path)
        positions = [header.index(name) for name in collector.features]
        field = header.index(collector.field) if collector.field in header else None
        try:
            for row in reader:  # a quoted value may hold a line break: rows are not lines
                collector.add_csv_row(row, header, positions, field, path, reader.line_num)
                if collector.rows == CHUNK_ROWS:
                    yield collector.traffic()
                    collector = _Collector(str(path))
        except csv.Error as error:
            raise CaptureError(
                f"{path}: line {reader.line_num} is not valid CSV ({error})"
            ) from None
    yield collector.traffic()


def chunks(source: str, window=None, s3_client=None, workers: int = 1) -> Iterator[Traffic]:
    """The traffic in a capture file, a folder of them (*.jsonl, recursively), a CSV file or a
    folder holding *.csv files, or an S3 prefix of capture files, in chunks; `window` (since,
    until) keeps the requests made in it.

    With `workers` above 1, that many processes read the chunks of capture lines (the scheduled
    job has its instance's CPUs to itself). S3 files are downloaded to a scratch folder first.
    """
    if not source.startswith("s3://") and (csv_files := _csv_files(Path(source))):
        for path in csv_files:
            yield from read_csv(path)
        return
    with tempfile.TemporaryDirectory() as scratch:
        if source.startswith("s3://"):
            files = _downloaded(source, window, s3_client, Path(scratch))
        else:
            files = _local_files(Path(source))
        shares = _shares(files, workers)
        if workers == 1 or len(shares) == 1:
            yield from (_read_share(share, window) for share in shares)
            return
        # Spawned, not forked: the parent has threads (numpy's, boto3's) that fork would copy.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            yield from pool.map(_read_share, shares, [window] * len(shares))


# Each worker process reads at least this many lines: fewer are read faster by one process.
MIN_LINES_PER_WORKER = 10_000
# A share of the lines: (file, its name in messages, first line, line after the last), from 0.
Share = list[tuple[Path, str, int, int]]


def _csv_files(path: Path) -> list[Path]:
    """A CSV file, or the *.csv files of a folder (a scored batch): none for capture files."""
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise CaptureError(f"{path}: no such file")
        return [path]
    return sorted(path.rglob("*.csv")) if path.is_dir() else []


def _local_files(path: Path) -> list[tuple[Path, str]]:
    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise CaptureError(
            f"{path}: no capture file (*.jsonl) found; pass a file, a folder or a CSV"
        )
    return [(file, str(file)) for file in files]


def _downloaded(uri: str, window, s3_client, scratch: Path) -> list[tuple[Path, str]]:
    files = []
    for number, (name, body) in enumerate(_s3_files(uri, window, s3_client)):
        path = scratch / f"{number}.jsonl"
        path.write_bytes(body)
        files.append((path, name))
    return files


def _shares(files: list[tuple[Path, str]], workers: int) -> list[Share]:
    """The files' lines cut into runs of about equal length, at least one per worker that
    has MIN_LINES_PER_WORKER lines to read, and none longer than CHUNK_ROWS lines."""
    lengths = [_line_count(path) for path, _ in files]
    total = sum(lengths)
    count = max(1, min(workers, total // MIN_LINES_PER_WORKER), -(-total // CHUNK_ROWS))
    size = -(-total // count)
    shares: list[Share] = [[] for _ in range(count)]
    position = 0  # lines before the current file
    for (path, name), length in zip(files, lengths, strict=True):
        start = 0
        while start < length:
            index = min((position + start) // size, count - 1)
            end = min(length, (index + 1) * size - position)
            shares[index].append((path, name, start, end))
            start = end
        position += length
    return [share for share in shares if share]


def _line_count(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b"")) + 1


def _read_share(share: Share, window) -> Traffic:
    collector = _Collector()
    for path, name, start, end in share:
        with path.open(encoding="utf-8", errors="replace", newline="\n") as stream:
            lines = [line.removesuffix("\n") for line in itertools.islice(stream, start, end)]
        numbered = [(start + index, line) for index, line in enumerate(lines, start=1)]
        read_records([pair for pair in numbered if pair[1].strip()], name, collector, window)
    return collector.traffic()


def hour_prefixes(prefix: str, window: tuple[datetime, datetime]) -> Iterator[str]:
    """The yyyy/mm/dd/hh/ folders capture writes for the window, an hour early to be safe:
    a file lands in the folder of its first request, so it may hold later ones."""
    since, until = window
    hour = since.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    while hour < until:
        yield f"{prefix}{hour:%Y/%m/%d/%H}/"
        hour += timedelta(hours=1)


def _s3_files(uri: str, window, s3_client) -> Iterator[tuple[str, bytes]]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    prefixes = hour_prefixes(prefix, window) if window else [prefix]
    paginator = s3_client.get_paginator("list_objects_v2")
    for hour in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=hour):
            for item in page.get("Contents", []):
                body = s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                yield f"s3://{bucket}/{item['Key']}", body
