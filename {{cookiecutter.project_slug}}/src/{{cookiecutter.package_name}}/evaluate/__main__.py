"""Evaluate entry point, following the SageMaker Processing contract.

Reads the model from /opt/ml/processing/model (a SageMaker training job's model.tar.gz, or an
unpacked model directory locally) and the test split from /opt/ml/processing/test (a chunk at
a time, keeping a uniform sample of at most settings.SAMPLED_ROWS rows), compares the model
with the champion of --champion-group (evaluate/champion.py), explains it and assesses its
bias, and writes evaluation.json, explainability.json, bias.json, evaluation.html and the model
card to /opt/ml/processing/evaluation (evaluate/documents.py).
"""

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

from .. import settings, threads
from ..data.core import DataValidationError, read_manifest, sampled
from ..infer.handler import METADATA_FILE, InvalidModelError
from ..options import add_lineage_option, output_folder
from . import champion
from .core import ChampionError
from .documents import evaluation, write
from .models import bundle_dir, load_model

PROCESSING_DIR = settings.PROCESSING_DIR


def lineage(args) -> dict[str, str]:
    """The given lineage, with the data's digest when Preprocess's data.json is there."""
    given = dict(args.lineage)
    with contextlib.suppress(FileNotFoundError):
        given["data-digest"] = read_manifest(args.data_dir)["digest"]
    return given


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=PROCESSING_DIR / "model")
    parser.add_argument("--test-dir", type=Path, default=PROCESSING_DIR / "test")
    parser.add_argument(
        "--output-dir", type=output_folder, default=str(PROCESSING_DIR / "evaluation")
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=PROCESSING_DIR / "data",
        help="Preprocess's data.json, whose digest the model card records (if there)",
    )
    add_lineage_option(parser, "for its model card")
    parser.add_argument(
        "--champion-group",
        help="the model package group whose newest Approved version is the champion "
        "(default: the release branch's, from settings)",
    )
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    try:
        test, test_rows = sampled(args.test_dir, settings.SAMPLED_ROWS)
        group = args.champion_group or settings.load().champion_group
    except (DataValidationError, settings.SettingsError) as error:
        parser.exit(2, f"evaluate: error: {error}\n")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            model = load_model(args.model_dir, Path(scratch) / "model")
            bundle = bundle_dir(args.model_dir, Path(scratch) / "model")
            metadata = json.loads((bundle / METADATA_FILE).read_text())
            found = evaluation(
                model,
                test,
                champion.find(group, Path(scratch)),
                metadata.get("hyperparameters", {}),
                lineage(args),
                test_rows,
            )
        except (FileNotFoundError, InvalidModelError, ChampionError) as error:  # each names it
            parser.exit(2, f"evaluate: error: {error}\n")
    files = found.files()
    write(args.output_dir, files)
    for line in found.summary():
        print(f"evaluate: {line}")
    print(f"evaluate: wrote {', '.join(files)} to {args.output_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
