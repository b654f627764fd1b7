"""Batch prediction: score CSV files (with a header) and write the predictions beside their rows.

    python -m <package>.infer --model-dir DIR --input FILE --output FILE
    python -m <package>.infer --model-dir DIR --input FILE|FOLDER --output-dir FOLDER [...]

Uses the endpoint's rules and model functions (infer/batch.py), so batch and online predictions
agree. Errors name the file's line (the header is line 1) and column rather than the handler's
row. With --output-dir, every *.csv file of the input is scored into the same name there, and
manifest.json beside them records what was scored with what: the model package (ARN, version),
the code digest, the input and output locations, and each file's rows in and out (the scoring
pipeline's Score step; --model-dir may hold SageMaker's model.tar.gz). A batch is scored whole
or not at all, into a folder that holds no files yet.
"""

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .. import threads
from ..evaluate.models import load_model
from ..options import output_file, output_folder
from .batch import MANIFEST_FILE, FileScoringError, located, score_batch, score_file
from .handler import InvalidModelError, InvalidRequestError, InvalidRowError


def manifest(args, scored: list[dict]) -> dict:
    """What a batch scored, with which model and code, and where it came from and went."""
    return {
        "model_package_arn": args.model_package_arn,
        "model_package_version": args.model_package_version,
        "code_digest": args.code_digest,
        "input": args.input_uri or str(args.input),
        "output": args.output_uri or str(args.output_dir),
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows_in": sum(item["rows_in"] for item in scored),
        "rows_out": sum(item["rows_out"] for item in scored),
        "files": scored,
    }


def input_name(args):
    """How messages name an input file: by its URI when the job knows where it was read from."""
    if not args.input_uri:
        return str
    root = args.input_uri.rstrip("/")
    return lambda path: f"{root}/{path.relative_to(args.input).as_posix()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="predict",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="CSV file with a header row")
    outputs = parser.add_mutually_exclusive_group(required=True)
    outputs.add_argument("--output", type=output_file, help="CSV file to write")
    outputs.add_argument("--output-dir", type=output_folder, help="folder for a batch's files")
    recorded = parser.add_argument_group("recorded in the batch's manifest")
    recorded.add_argument("--input-uri", help="where the input was read from (names it in errors)")
    recorded.add_argument("--output-uri", help="where the output folder is uploaded")
    recorded.add_argument("--model-package-arn")
    recorded.add_argument("--model-package-version", type=int)
    recorded.add_argument("--code-digest")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            model = load_model(args.model_dir, Path(scratch))
        threads.limit(parser.prog)  # the model's libraries are loaded now
        if args.output:
            rows, _ = score_file(model, args.input, args.output)
        else:
            scored = score_batch(model, args.input, args.output_dir, input_name(args))
            record = manifest(args, scored)
            (args.output_dir / MANIFEST_FILE).write_text(json.dumps(record, indent=2) + "\n")
    except (OSError, InvalidModelError) as error:  # no model or input, a folder, a damaged model
        parser.exit(2, f"predict: error: {error}\n")
    except InvalidRowError as error:
        parser.exit(2, f"predict: error: {args.input}: {located(error)}\n")
    except FileScoringError as error:  # names the batch's file
        parser.exit(2, f"predict: error: {error}\n")
    except InvalidRequestError as error:
        parser.exit(2, f"predict: error: {args.input_uri or args.input}: {error}\n")
    if args.output:
        print(f"predict: wrote {rows} predictions to {args.output}")
    else:
        files, rows = len(record["files"]), record["rows_out"]
        print(f"predict: scored {rows} rows of {files} file(s) into {args.output_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
