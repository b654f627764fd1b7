"""Preprocess entry point, following the SageMaker Processing contract.

SageMaker mounts the input under /opt/ml/processing/input and uploads whatever is written
under /opt/ml/processing/output; locally, pass other paths. Reads the input a chunk at a time,
drops exact duplicate rows, and writes one folder per split (train/, validation/, test/), each
holding one CSV with a header, and manifest/data.json: the input's files, their digests and the
rows (data.core.manifest). Nothing is left behind when the input is refused.

A job of several instances gets the input ShardedByS3Key: each instance reads its own files
and writes its own part of each split and of the manifest, under names of its own
(`cluster.Cluster.own`). The split is a function of each row (data.core.Splitter), so the parts
together are the splits one instance would have written; duplicates are dropped within each
instance's files.
"""

import argparse
import contextlib
import json
import shutil
from pathlib import Path

from .. import settings, threads
from ..cluster import PROCESSING_CONFIG, Cluster, of_job
from ..options import output_folder
from .core import (
    SPLIT_SEED,
    DataValidationError,
    Splitter,
    holds_csv,
    input_files,
    manifest,
    validated_chunks,
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
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="seed of the split")
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    cluster = of_job(PROCESSING_CONFIG)
    if len(cluster.hosts) > 1 and not holds_csv(args.input):
        print(
            f"preprocess: {cluster.current} got no input file: the input has fewer files than "
            f"the job's {len(cluster.hosts)} instances; nothing to do"
        )
        return 0
    try:
        files = input_files(args.input)
        splitter = write_splits(files, args.input, args.output_dir, cluster, args.seed)
    except DataValidationError as error:  # names the file and line, or the input
        parser.exit(2, f"preprocess: error: {error}\n")
    if splitter.duplicates:
        print(f"preprocess: dropped {splitter.duplicates} exact duplicate row(s) before splitting")
    for name in settings.SPLITS:
        print(f"preprocess: wrote {splitter.sizes[name]} rows to {args.output_dir / name}")
    described = manifest(files, args.input, splitter)
    manifest_dir = args.output_dir / settings.DATA_MANIFEST_DIR
    manifest_dir.mkdir(parents=True, exist_ok=True)
    manifest_file = manifest_dir / cluster.own(settings.DATA_MANIFEST_FILE)
    manifest_file.write_text(json.dumps(described, indent=2))
    print(f"preprocess: input digest {described['digest']}")
    return 0


def write_splits(
    files: list[Path], source: Path, output_dir: Path, cluster: Cluster, seed: int
) -> Splitter:
    """Stream the files through a Splitter into <output_dir>/<split>/<split>.csv.

    Each split is appended to under a partial name and renamed once the whole input passed
    its checks; a refused input leaves no file, nor the output folder if it was made here.
    """
    splitter = Splitter(seed)
    final = {name: output_dir / name / cluster.own(f"{name}.csv") for name in settings.SPLITS}
    partial = {name: path.with_name(f".{path.name}.partial") for name, path in final.items()}
    made_here = not output_dir.exists()
    try:
        with contextlib.ExitStack() as stack:
            streams = {}
            for name, path in partial.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                streams[name] = stack.enter_context(path.open("w", newline=""))
            for file in files:
                for chunk in validated_chunks(file):
                    for name, part in splitter.add(chunk).items():
                        stream = streams[name]
                        part.to_csv(stream, header=stream.tell() == 0, index=False)
        try:
            splitter.check()
        except DataValidationError as error:
            raise DataValidationError(f"{source}: {error}") from None
    except BaseException:
        for path in partial.values():
            path.unlink(missing_ok=True)
        if made_here:
            shutil.rmtree(output_dir, ignore_errors=True)
        raise
    for name, path in partial.items():
        path.replace(final[name])
    return splitter


if __name__ == "__main__":
    raise SystemExit(main())
