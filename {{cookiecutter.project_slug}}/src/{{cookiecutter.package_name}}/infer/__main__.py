"""Batch prediction: score a CSV file (with a header) and write the predictions beside its rows.

Uses the endpoint's rules and model functions (infer/batch.py), so batch and online predictions
agree. Errors name the file's line (the header is line 1) and column rather than the handler's
row.
"""

import argparse
from pathlib import Path

from .. import threads
from ..options import output_file
from .batch import located, score_file
from .handler import InvalidModelError, InvalidRequestError, InvalidRowError, model_fn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="CSV file with a header row")
    parser.add_argument("--output", type=output_file, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        model = model_fn(str(args.model_dir))
        threads.limit(parser.prog)  # the model's libraries are loaded now
        rows = score_file(model, args.input, args.output)
    except (OSError, InvalidModelError) as error:  # no model or input, a folder, a damaged model
        parser.exit(2, f"predict: error: {error}\n")
    except InvalidRowError as error:
        parser.exit(2, f"predict: error: {args.input}: {located(error)}\n")
    except InvalidRequestError as error:
        parser.exit(2, f"predict: error: {args.input}: {error}\n")
    print(f"predict: wrote {rows} predictions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
