"""Evaluate entry point, following the SageMaker Processing contract.

Reads the model from /opt/ml/processing/model (a SageMaker training job's model.tar.gz, or an
unpacked model directory locally) and the test split from /opt/ml/processing/test, and writes
evaluation.json to /opt/ml/processing/evaluation.
"""

import argparse
import json
import tarfile
import tempfile
from pathlib import Path

from .. import settings, threads
from ..data.core import DataValidationError, read_csv_files
from ..infer.handler import InvalidModelError, model_fn
from ..options import output_folder
from .core import evaluate

PROCESSING_DIR = settings.PROCESSING_DIR


def load_model(model_dir: Path, scratch: Path):
    """Load the model bundle, unpacking model.tar.gz first when SageMaker supplied one."""
    archive = model_dir / "model.tar.gz"
    if not archive.exists():
        return model_fn(str(model_dir))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
    except tarfile.TarError:  # its message spans several lines and omits the file
        raise InvalidModelError(
            f"{archive}: not a readable model archive; copy the training job's output again"
        ) from None
    try:
        return model_fn(str(scratch))
    except (FileNotFoundError, InvalidModelError) as error:  # name the archive, not the scratch
        raise InvalidModelError(str(error).replace(str(scratch), str(archive))) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=PROCESSING_DIR / "model")
    parser.add_argument("--test-dir", type=Path, default=PROCESSING_DIR / "test")
    parser.add_argument(
        "--output-dir", type=output_folder, default=str(PROCESSING_DIR / "evaluation")
    )
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    try:
        test = read_csv_files(args.test_dir)
    except DataValidationError as error:
        parser.exit(2, f"evaluate: error: {error}\n")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            model = load_model(args.model_dir, Path(scratch))
        except (FileNotFoundError, InvalidModelError) as error:  # each names its own file
            parser.exit(2, f"evaluate: error: {error}\n")
        report = evaluate(model, test)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / settings.REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    print(f"evaluate: wrote {args.output_dir / settings.REPORT_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
