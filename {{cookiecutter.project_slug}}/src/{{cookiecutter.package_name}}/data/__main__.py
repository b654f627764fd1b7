"""Preprocess entry point, following the SageMaker Processing contract.

SageMaker mounts the input under /opt/ml/processing/input and uploads whatever is written
under /opt/ml/processing/output; locally, pass other paths. Drops exact duplicate rows, then
writes one folder per split (train/, validation/, test/), each holding one CSV with a header,
and manifest/data.json: the input's files, their digests and the rows (data.core.manifest).
"""

import argparse
import json
from pathlib import Path

from .. import settings, threads
from ..options import output_folder
from .core import (
    SPLIT_SEED,
    DataValidationError,
    drop_duplicates,
    manifest,
    read_csv_files,
    split,
)

PROCESSING_DIR = settings.PROCESSING_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="preprocess",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--input", type=Path, default=PROCESSING_DIR / "input", help="CSV file or directory"
    )
    parser.add_argument(
        "--output-dir",
        type=output_folder,
        default=str(PROCESSING_DIR / "output"),
        help="where train/, validation/, test/ and manifest/ are written",
    )
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="seed of the random split")
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    try:
        read = read_csv_files(args.input)
        frame, duplicates = drop_duplicates(read)
    except DataValidationError as error:  # names the file and line itself
        parser.exit(2, f"preprocess: error: {error}\n")
    try:
        parts = split(frame, seed=args.seed)
    except DataValidationError as error:
        parser.exit(2, f"preprocess: error: {args.input}: {error}\n")
    if duplicates:
        print(f"preprocess: dropped {duplicates} exact duplicate row(s) before splitting")
    for name, part in parts.items():
        (args.output_dir / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(args.output_dir / name / f"{name}.csv", index=False)
        print(f"preprocess: wrote {len(part)} rows to {args.output_dir / name}")
    described = manifest(args.input, len(read), duplicates, parts)
    manifest_dir = args.output_dir / settings.DATA_MANIFEST_DIR
    manifest_dir.mkdir(parents=True, exist_ok=True)
    (manifest_dir / settings.DATA_MANIFEST_FILE).write_text(json.dumps(described, indent=2))
    print(f"preprocess: input digest {described['digest']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
