"""Preprocess entry point, following the SageMaker Processing contract.

SageMaker mounts the input under /opt/ml/processing/input and uploads whatever is written
under /opt/ml/processing/output; locally, pass other paths. Writes one folder per split
(train/, validation/, test/), each holding one CSV with a header.
"""

import argparse
from pathlib import Path

from .core import SPLIT_SEED, DataValidationError, read_csv_files, split

PROCESSING_DIR = Path("/opt/ml/processing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="preprocess", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input", type=Path, default=PROCESSING_DIR / "input", help="CSV file or directory"
    )
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_DIR / "output")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED)
    args = parser.parse_args(argv)
    try:
        parts = split(read_csv_files(args.input), seed=args.seed)
    except DataValidationError as error:
        parser.exit(2, f"preprocess: error: {error}\n")
    for name, part in parts.items():
        (args.output_dir / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(args.output_dir / name / f"{name}.csv", index=False)
        print(f"preprocess: wrote {len(part)} rows to {args.output_dir / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
