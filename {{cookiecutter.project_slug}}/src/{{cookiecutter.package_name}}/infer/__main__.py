"""Batch prediction: score a CSV file (with a header) and write the predictions beside its rows.

Uses the same handler functions as the endpoint, so batch and online predictions agree.
"""

import argparse
import csv
from pathlib import Path

from .handler import InvalidRequestError, model_fn, predict_fn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="CSV file with a header row")
    parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        model = model_fn(str(args.model_dir))
        with args.input.open(newline="") as source:
            records = list(csv.DictReader(source))
        predictions = predict_fn(records, model)
    except FileNotFoundError as error:
        parser.exit(2, f"predict: error: {error}\n")
    except InvalidRequestError as error:
        parser.exit(2, f"predict: error: {args.input}: {error}\n")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=[*records[0], *predictions[0]])
        writer.writeheader()
        writer.writerows(
            {**record, **prediction}
            for record, prediction in zip(records, predictions, strict=True)
        )
    print(f"predict: wrote {len(predictions)} predictions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
