"""Batch prediction: score a CSV file (with a header) and write the predictions beside its rows.

Uses the same handler functions as the endpoint, so batch and online predictions agree.
Errors name the file's line (the header is line 1) and column rather than the handler's row.
"""

import argparse
import csv
from pathlib import Path

from .. import threads
from ..data.core import padded_names
from ..options import output_file
from .handler import (
    InvalidModelError,
    InvalidRequestError,
    InvalidRowError,
    model_fn,
    predict_fn,
)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file; a row whose field count differs is an error."""
    if path.is_dir():  # one output file per input file, so a folder's files are not merged
        raise InvalidRequestError("is a folder; pass one CSV file of it, and run once per file")
    with path.open(newline="", encoding="utf-8-sig") as source:  # -sig: Excel's UTF-8 BOM
        reader = csv.reader(source)
        try:
            header = next(reader, None)
            if not header:
                raise InvalidRequestError("the file is empty; expected a header row and data rows")
            rows = []
            for line, values in enumerate(reader, start=2):
                if len(values) != len(header):
                    raise InvalidRequestError(
                        f"line {line} has {len(values)} fields but the header has {len(header)}"
                    )
                rows.append(dict(zip(header, values, strict=True)))
        except UnicodeDecodeError:
            raise InvalidRequestError("not UTF-8 text; save it as UTF-8 CSV") from None
        except csv.Error as error:  # e.g. a field beyond the csv module's size limit
            raise InvalidRequestError(
                f"line {reader.line_num} is not valid CSV ({error}); fix that line"
            ) from None
    return header, rows


def check_columns(header: list[str], features: tuple[str, ...]) -> None:
    """Refuse a file that lacks a feature column, naming every missing one."""
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


def located(error: InvalidRowError) -> str:
    """The error in the file's terms: data row N is line N + 1, as the header is line 1."""
    column = "" if error.feature is None else f", column {error.feature!r}"
    return f"line {error.row + 1}{column}: {error.problem}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="CSV file with a header row")
    parser.add_argument("--output", type=output_file, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        model = model_fn(str(args.model_dir))
        threads.limit(parser.prog)  # the model's libraries are loaded now
        header, rows = read_rows(args.input)
        check_columns(header, model.features)
        predictions = predict_fn(rows, model)
    except (OSError, InvalidModelError) as error:  # no model or input, a folder, a damaged model
        parser.exit(2, f"predict: error: {error}\n")
    except InvalidRowError as error:
        parser.exit(2, f"predict: error: {args.input}: {located(error)}\n")
    except InvalidRequestError as error:
        parser.exit(2, f"predict: error: {args.input}: {error}\n")
    clashes = sorted(set(header) & set(predictions[0]))
    if clashes:
        parser.exit(
            2,
            f"predict: error: {args.input}: already has column(s) {', '.join(clashes)}; "
            "rename them, as the predictions are written under those names\n",
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=[*header, *predictions[0]])
        writer.writeheader()
        writer.writerows(
            {**row, **prediction} for row, prediction in zip(rows, predictions, strict=True)
        )
    print(f"predict: wrote {len(predictions)} predictions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
