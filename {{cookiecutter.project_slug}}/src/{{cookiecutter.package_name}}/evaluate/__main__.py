"""Evaluate entry point, following the SageMaker Processing contract.

Reads the model from /opt/ml/processing/model (a SageMaker training job's model.tar.gz, or an
unpacked model directory locally) and the test split from /opt/ml/processing/test, compares the
model with the champion of --champion-group (evaluate/champion.py), and writes evaluation.json
to /opt/ml/processing/evaluation.
"""

import argparse
import json
import tempfile
from pathlib import Path

from .. import settings, threads
from ..data.core import DataValidationError, read_csv_files
from ..infer.handler import InvalidModelError
from ..options import output_folder
from . import champion
from .core import ChampionError, evaluate
from .models import load_model

PROCESSING_DIR = settings.PROCESSING_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=PROCESSING_DIR / "model")
    parser.add_argument("--test-dir", type=Path, default=PROCESSING_DIR / "test")
    parser.add_argument(
        "--output-dir", type=output_folder, default=str(PROCESSING_DIR / "evaluation")
    )
    parser.add_argument(
        "--champion-group",
        help="the model package group whose newest Approved version is the champion "
        "(default: the release branch's, from settings)",
    )
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    try:
        test = read_csv_files(args.test_dir)
        group = args.champion_group or settings.load().champion_group
    except (DataValidationError, settings.SettingsError) as error:
        parser.exit(2, f"evaluate: error: {error}\n")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            model = load_model(args.model_dir, Path(scratch) / "model")
            report = evaluate(model, test, champion.find(group, Path(scratch)))
        except (FileNotFoundError, InvalidModelError, ChampionError) as error:  # each names it
            parser.exit(2, f"evaluate: error: {error}\n")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / settings.REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    print(f"evaluate: {report[settings.COMPARISON_KEY]['summary']}")
    print(f"evaluate: wrote {args.output_dir / settings.REPORT_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
