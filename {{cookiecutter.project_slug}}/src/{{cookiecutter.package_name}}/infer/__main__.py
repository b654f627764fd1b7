"""Batch prediction: score a CSV file (with a header) and write the predictions beside its rows.

Uses the same handler functions as the endpoint, so batch and online predictions agree.
"""

import argparse
import csv
from pathlib import Path

from .handler import InvalidRequestError, model_fn, predict_fn


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file; a row whose field count differs is an error."""
    with path.open(newline="", encoding="utf-8-sig") as source:  # -sig: Excel's UTF-8 BOM
        reader = csv.reader(source)
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
    return header, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="CSV file with a header row")
    parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        model = model_fn(str(args.model_dir))
        header, rows = read_rows(args.input)
        predictions = predict_fn(rows, model)
    except (OSError, UnicodeDecodeError) as error:  # no model or input, a folder, not UTF-8
        parser.exit(2, f"predict: error: {error}\n")
    except InvalidRequestError as error:
        parser.exit(2, f"predict: error: {args.input}: {error}\n")
    clashes = sorted(set(header) & set(predictions[0]))
    if clashes:
        parser.exit(2, f"predict: error: {args.input}: already has column(s) {', '.join(clashes)}")
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
