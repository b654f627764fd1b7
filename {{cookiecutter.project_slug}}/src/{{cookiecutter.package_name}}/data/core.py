"""Load and validate the input data against `schema`, and split it for training.

Pure functions of their inputs: the entry point (`__main__.py`) and the tests call them alike.
Each CSV file is checked against the schema on its own, so an error names the file, the column
and the line within that file. Columns the schema does not name are dropped with a warning.

Files are read in chunks of CHUNK_ROWS rows (`validated_chunks`), so that preprocessing holds a
chunk in memory, never a file. The split is a function of each row's content (`Splitter`), not
of its neighbours: the same row lands in the same split whichever file, chunk or instance
reads it, so a job sharded across instances splits as one instance does.
"""

import hashlib
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .. import settings
from . import schema

VALIDATION_FRACTION = 0.15
TEST_FRACTION = 0.15
SPLIT_SEED = 42
MIN_ROWS = 20  # fewer rows leave the validation and test sets too small to mean anything
# Each instance of a Preprocess job writes its own data.json, named as `Cluster.own` says.
MANIFEST_PATTERN = f"{Path(settings.DATA_MANIFEST_FILE).stem}*.json"
# Rows read at a time: about 30 MB of a 30-column frame, whatever the size of the file.
CHUNK_ROWS = 100_000
# Larger magnitudes are refused rather than computed with: squaring them (variance, MSE, the
# baseline's std) would overflow float64 to Infinity, which JSON reports cannot hold.
MAX_MAGNITUDE = 1e150
{%- if cookiecutter.problem_type == "binary_classification" %}
# A class with fewer rows is unlikely to reach all three sets: say so before splitting.
MIN_ROWS_PER_CLASS = 10

{%- endif %}

log = logging.getLogger(__name__)


class DataValidationError(ValueError):
    """Input data that breaks the schema; the message names the problem and the fix."""


def read_csv_files(path: Path) -> pd.DataFrame:
    """Read one CSV file, or every CSV file in a directory, each validated, into one frame."""
    frames = [chunk for file in input_files(path) for chunk in validated_chunks(file)]
    frame = pd.concat(frames, ignore_index=True)
    _check_outcomes(frame[schema.TARGET], source=str(path))
    return frame


def sampled(path: Path, rows: int) -> tuple[pd.DataFrame, int]:
    """A uniform sample of at most `rows` of the CSV files' rows, in their order, and how many
    rows the files hold: all of them when they hold no more.

    Read a chunk at a time, keeping the rows whose mixed digests are lowest: the same rows
    give the same sample, and memory holds the sample and a chunk, not the files. Once the
    sample is full, only a chunk's rows ranked within it are added (fewer in each chunk).
    """
    sample, ranks, total = None, np.empty(0, dtype=np.uint64), 0
    for file in input_files(path):
        for chunk in validated_chunks(file):
            total += len(chunk)
            chunk_ranks = _mixed(row_digests(chunk))
            if rows and len(ranks) == rows:
                within = chunk_ranks <= ranks.max()
                chunk, chunk_ranks = chunk[within], chunk_ranks[within]
            sample = pd.concat([chunk] if sample is None else [sample, chunk], ignore_index=True)
            ranks = np.concatenate([ranks, chunk_ranks])
            if len(sample) > rows:  # the lowest ranks, kept in the files' order
                lowest = np.sort(np.argpartition(ranks, rows)[:rows])
                sample, ranks = sample.iloc[lowest].reset_index(drop=True), ranks[lowest]
    return sample, total


def first_rows(path: Path, rows: int) -> pd.DataFrame:
    """The first `rows` rows of the first CSV file, validated, without reading the rest."""
    return next(validated_chunks(input_files(path)[0], rows))


def input_files(path: Path) -> list[Path]:
    """The CSV file `path` names, or the CSV files of the folder it names."""
    files = csv_files(path) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise DataValidationError(f"{path}: no CSV file found; pass a CSV file or a folder of them")
    return files


def holds_csv(path: Path) -> bool:
    """Whether `path` is a CSV file or a folder holding one: with a sharded input, an instance
    of several may get none."""
    return path.is_file() or (path.is_dir() and bool(csv_files(path)))


def csv_files(folder: Path) -> list[Path]:
    """The folder's CSV files, by name; `.CSV` counts, as spreadsheet exports often use it."""
    return sorted(
        path for path in folder.iterdir() if path.suffix.lower() == ".csv" and path.is_file()
    )


def padded_names(header, names) -> list[str]:
    """Header names that are `names` but for spaces around them, which a match would miss."""
    names_in_header = (str(name) for name in header)
    return [name for name in names_in_header if name != name.strip() and name.strip() in names]


def validated_chunks(file: Path, rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The file's rows, at most `rows` (CHUNK_ROWS) at a time, each checked against the schema.

    Each chunk is the schema's columns, target last, as floats, indexed by the rows' lines in
    the file. What only the whole file can show (no rows at all, a feature without any value)
    is checked after its last chunk.
    """
    source = str(file)
    read = 0
    valued = pd.Series(False, index=list(schema.FEATURES))
    for number, chunk in enumerate(_read(file, rows or CHUNK_ROWS)):
        if number == 0:
            _check_header(chunk.columns, source)
        chunk = chunk.dropna(how="all")
        read += len(chunk)
        valued |= chunk[list(schema.FEATURES)].notna().any()
        if not chunk.empty:
            yield _checked(chunk, source)
    if not read:
        raise DataValidationError(f"{source}: the file has a header but no rows; add data rows")
    _check_no_empty_feature(valued, source)


def _read(file: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The file's chunks as pandas reads them, each row indexed by its line in the file."""
    try:
        # -sig: Excel's UTF-8 byte order mark. Blank lines are read, then dropped by the caller,
        # so that each row keeps its line in the file as its index (the header is line 1).
        with pd.read_csv(
            file, encoding="utf-8-sig", skip_blank_lines=False, chunksize=rows
        ) as reader:
            for chunk in reader:
                if len(chunk.columns) == 1:  # tabs or semicolons: the header reads as one column
                    raise DataValidationError(
                        f"{file}: has a single column {chunk.columns[0][:60]!r}; is it "
                        "comma-separated? save it as CSV with commas between the values"
                    )
                chunk.index += 2
                yield chunk
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{file}: the file is empty; add a header and rows") from None
    except UnicodeDecodeError:
        raise DataValidationError(f"{file}: not UTF-8 text; save it as UTF-8 CSV") from None
    except pd.errors.ParserError as error:
        raise DataValidationError(f"{file}: not a valid CSV file: {str(error).strip()}") from None


def _check_header(header: pd.Index, source: str) -> None:
    columns = [*schema.FEATURES, schema.TARGET]
    missing = [column for column in columns if column not in header]
    padded = padded_names(header, missing)
    if padded:
        raise DataValidationError(
            f"{source}: header names with spaces around them ({', '.join(map(repr, padded))}); "
            "remove the spaces from the header row"
        )
    if missing:
        raise DataValidationError(
            f"{source}: missing column(s) {', '.join(missing)}; add them or update data/schema.py"
        )
    unexpected = [str(column) for column in header if column not in columns]
    if unexpected:
        log.warning(
            "warning: %s: ignoring column(s) %s: not in data/schema.py (add them to use them)",
            source,
            ", ".join(unexpected),
        )


def _checked(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """One chunk's values checked; the schema's columns, target last, as floats."""
    columns = [*schema.FEATURES, schema.TARGET]
    for column in columns:
        _check_numeric(frame[column], source)
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


def _check_no_empty_feature(valued: pd.Series, source: str) -> None:
    """Missing values are allowed, but a feature without any value gives the model nothing.

    `valued`: whether each feature has a value in at least one row.
    """
    if not valued.all():
        raise DataValidationError(
            f"{source}: column {valued.idxmin()!r} has no value at all; fill it in, or remove it "
            "from FEATURES in data/schema.py"
        )


def _check_outcomes(target: pd.Series, source: str) -> None:
    """All files together must hold more than one outcome: one alone teaches nothing."""
    if target.nunique() < 2:
        raise _single_outcome(target.iloc[0], source)


def _single_outcome(value, source: str) -> DataValidationError:
    return DataValidationError(
        f"{source}: column {schema.TARGET!r} has the single value {_shown(value)}; "
        "a model needs examples of more than one outcome"
    )


def _shown(value) -> str:
    """A value as the user wrote it: numpy scalars as plain Python numbers."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _csv_line(mask: pd.Series) -> int:
    """The file line of the first flagged row: `_read` indexes rows by their line."""
    return int(mask.idxmax())


def row_digests(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit digest of each row's values: equal rows have equal digests (-0.0 is 0.0)."""
    return pd.util.hash_pandas_object(frame + 0.0, index=False).to_numpy()


def split_codes(digests: np.ndarray, seed: int) -> np.ndarray:
    """Each row's split, as its index in settings.SPLITS, from its digest and the seed alone.

    The digest, mixed with the seed, is a position in [0, 1): the first TEST_FRACTION of the
    range is the test set, the next VALIDATION_FRACTION the validation set, the rest train.
    """
    position = (_mixed(digests ^ np.uint64(seed % 2**64)) >> np.uint64(11)) * 2.0**-53
    holdout = TEST_FRACTION + VALIDATION_FRACTION
    return np.where(position < TEST_FRACTION, 2, np.where(position < holdout, 1, 0))


def _mixed(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: each bit of a value moves every bit of its result."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


class SeenRows:
    """The digests of the rows kept so far, sorted: 8 bytes a row, however wide the row."""

    def __init__(self):
        self.digests = np.empty(0, dtype=np.uint64)

    def first_seen(self, digests: np.ndarray) -> np.ndarray:
        """Which of `digests` are new: seen neither before nor earlier among them."""
        unique, first = np.unique(digests, return_index=True)
        position = np.searchsorted(self.digests, unique)
        known = np.zeros(len(unique), dtype=bool)
        inside = position < len(self.digests)
        known[inside] = self.digests[position[inside]] == unique[inside]
        self.digests = np.insert(self.digests, position[~known], unique[~known])
        kept = np.zeros(len(digests), dtype=bool)
        kept[first[~known]] = True
        return kept


class Splitter:
    """Rows in, chunk by chunk; each row out to its split, exact duplicates dropped.

    Copies of a row (the same file twice in the input folder, an export run twice) would
    weigh it twice. Rows are compared on the schema's columns, the only ones kept: rows that
    differ only in an ignored column, such as an id, are the same example to the model. Rows
    that share their features but not their target are kept: they are real, conflicting
    evidence. Whatever is dropped or not, equal rows always land in the same split.

    What the checks of the whole split need (`check`) is counted as the rows pass: the rows
    themselves are not kept.
    """

    def __init__(self, seed: int = SPLIT_SEED):
        self.seed = seed
        self.seen = SeenRows()
        self.read = 0
        self.sizes = dict.fromkeys(settings.SPLITS, 0)
        self.valued = {
            name: pd.Series(False, index=list(schema.FEATURES)) for name in settings.SPLITS
        }
{%- if cookiecutter.problem_type == "binary_classification" %}
        self.class_counts = {name: pd.Series(dtype=int) for name in settings.SPLITS}
{%- else %}
        self.target_range = {name: (math.inf, -math.inf) for name in settings.SPLITS}
{%- endif %}

    @property
    def kept(self) -> int:
        return sum(self.sizes.values())

    @property
    def duplicates(self) -> int:
        return self.read - self.kept

    def add(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The frame's new rows, by split."""
        self.read += len(frame)
        digests = row_digests(frame)
        kept = self.seen.first_seen(digests)
        codes = split_codes(digests[kept], self.seed)
        rows = frame[kept]
        parts = {name: rows[codes == code] for code, name in enumerate(settings.SPLITS)}
        for name, part in parts.items():
            self.sizes[name] += len(part)
            self.valued[name] |= part[list(schema.FEATURES)].notna().any()
            target = part[schema.TARGET]
{%- if cookiecutter.problem_type == "binary_classification" %}
            counts = self.class_counts[name]
            self.class_counts[name] = counts.add(target.value_counts(), fill_value=0).astype(int)
{%- else %}
            if len(target):
                low, high = self.target_range[name]
                self.target_range[name] = (min(low, target.min()), max(high, target.max()))
{%- endif %}
        return parts

    def check(self) -> None:
        """Refuse a split that leaves a set unfit to train or measure on."""
        if self.kept < MIN_ROWS:
            raise DataValidationError(
                f"{self.kept} rows are too few to split into train, validation and test sets; "
                f"provide at least {MIN_ROWS}"
            )
        for name in settings.SPLITS:
            if not self.sizes[name]:
                raise DataValidationError(
                    f"the {name} set got none of the {self.kept} rows; provide more rows"
                )
{%- if cookiecutter.problem_type == "binary_classification" %}
        counts = pd.concat(self.class_counts.values()).groupby(level=0).sum()
        if len(counts) < 2:
            raise _single_outcome(counts.index[0], "the data")
        if counts.min() < MIN_ROWS_PER_CLASS:
            raise DataValidationError(
                f"class {_shown(counts.idxmin())} of {schema.TARGET!r} has {counts.min()} row(s); "
                f"each class needs at least {MIN_ROWS_PER_CLASS} to appear in the train, "
                "validation and test sets; add rows of that class"
            )
        for name in settings.SPLITS:
            absent = [value for value in counts.index if value not in self.class_counts[name]]
            if absent:
                raise DataValidationError(
                    f"the {name} set has no row of class {_shown(absent[0])} of "
                    f"{schema.TARGET!r} ({counts[absent[0]]} in all); add rows of that class"
                )
{%- endif %}
        for name in settings.SPLITS:
            _check_no_empty_feature(self.valued[name], f"the {name} set")
{%- if cookiecutter.problem_type == "regression" %}
        for name in settings.SPLITS:
            low, high = self.target_range[name]
            if low == high:  # no spread: R2 and the fit mean nothing
                raise DataValidationError(
                    f"the {name} set's {schema.TARGET!r} has the single value {_shown(low)}: the "
                    "target is nearly constant; a regression model needs a target that varies"
                )
{%- endif %}


def split(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> dict[str, pd.DataFrame]:
    """The frame's rows by split, exact duplicates dropped: one chunk through a `Splitter`."""
    splitter = Splitter(seed)
    parts = splitter.add(frame)
    splitter.check()
    return parts


def manifest(files: list[Path], root: Path, splitter: Splitter) -> dict:
    """data.json: the input's files with their SHA-256 digests, one digest of them all, and
    the rows read, dropped and split, so that a model traces back to the very data it saw.

    `root` is the input folder (or file) the files' names are given relative to.
    """
    entries = []
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        name = file.relative_to(root).as_posix() if root.is_dir() else file.name
        entries.append({"file": name, "bytes": file.stat().st_size, "sha256": digest.hexdigest()})
    return _described(entries, splitter.read, splitter.duplicates, splitter.sizes)


def _described(entries: list[dict], rows: int, duplicates: int, splits: dict) -> dict:
    entries = sorted(entries, key=lambda entry: entry["file"])
    whole = hashlib.sha256("\n".join(f"{e['file']} {e['sha256']}" for e in entries).encode())
    return {
        "digest": whole.hexdigest(),
        "files": entries,
        "rows": rows,
        "duplicates_dropped": duplicates,
        "splits": splits,
    }


def read_manifest(folder: Path) -> dict:
    """The data.json of a Preprocess job: one, or the parts its instances wrote, as one.

    The digest is of all the files, as one instance would have computed it over them.
    """
    parts = [json.loads(path.read_text()) for path in sorted(folder.glob(MANIFEST_PATTERN))]
    if not parts:
        raise FileNotFoundError(f"{folder}: no {settings.DATA_MANIFEST_FILE}")
    return _described(
        [entry for part in parts for entry in part["files"]],
        sum(part["rows"] for part in parts),
        sum(part["duplicates_dropped"] for part in parts),
        {name: sum(part["splits"][name] for part in parts) for name in settings.SPLITS},
    )
