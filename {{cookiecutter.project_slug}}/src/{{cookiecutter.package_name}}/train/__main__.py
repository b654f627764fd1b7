"""Train entry point, following the SageMaker training contract.

A training job mounts each input channel under /opt/ml/input/data/<channel>, writes the job's
hyperparameters (all strings) to /opt/ml/input/config/hyperparameters.json, and uploads
/opt/ml/model as model.tar.gz when the job ends. Framework toolkits also export SM_CHANNEL_*
and SM_MODEL_DIR and pass hyperparameters as `--<name> <value>`; both ways work, options win.
Locally, pass the directories as options instead.
{%- if cookiecutter.model_framework == "xgboost" %}

A job of several instances trains across them (train/distributed.py): each host reads its
shard of the train channel, and the first host saves the model.
{%- else %}

scikit-learn trains on one instance: a job of several is refused (so is the pipeline
parameter, before any AWS call).
{%- endif %}
"""

import argparse
{%- if cookiecutter.model_framework == "xgboost" %}
import contextlib
{%- endif %}
import json
import os
from dataclasses import fields
from pathlib import Path

{%- if cookiecutter.model_framework == "xgboost" %}

import pandas as pd
{%- endif %}

from .. import settings, threads
from ..cluster import TRAINING_CONFIG, of_job
{%- if cookiecutter.model_framework == "xgboost" %}
from ..data import schema
from ..data.core import DataValidationError, holds_csv, read_csv_files
{%- else %}
from ..data.core import DataValidationError, read_csv_files
{%- endif %}
from ..evaluate.core import primary_metric
from ..options import output_folder
{%- if cookiecutter.model_framework == "xgboost" %}
from . import distributed
{%- endif %}
from .core import fit, save
from .hyperparameters import Hyperparameters

HYPERPARAMETERS_FILE = settings.OPT_ML / "input" / "config" / "hyperparameters.json"
CHANNELS_DIR = settings.OPT_ML / "input" / "data"


def job_hyperparameters(path: Path = HYPERPARAMETERS_FILE) -> dict[str, str]:
    """The hyperparameters SageMaker gave this training job, or {} outside a job."""
    return json.loads(path.read_text()) if path.exists() else {}


def argument_parser(hyperparameters: dict[str, str] | None = None) -> argparse.ArgumentParser:
    """Options for the channels and every Hyperparameters field; job values become defaults."""
    env = os.environ
    given = job_hyperparameters() if hyperparameters is None else hyperparameters
    names = {field.name for field in fields(Hyperparameters)}
    unknown = sorted(key for key in given if key not in names and not key.startswith("sagemaker_"))
    if unknown:
        raise SystemExit(f"train: error: unknown hyperparameters {unknown}")
    parser = argparse.ArgumentParser(
        prog="train",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--train",
        type=Path,
        default=env.get("SM_CHANNEL_TRAIN", str(CHANNELS_DIR / "train")),
        help="CSV file or folder of the training split",
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=env.get("SM_CHANNEL_VALIDATION", str(CHANNELS_DIR / "validation")),
        help="CSV file or folder of the validation split",
    )
    parser.add_argument(
        "--model-dir",
        type=output_folder,
        default=env.get("SM_MODEL_DIR", str(settings.OPT_ML / "model")),
        help="where the model bundle is written",
    )
    for field in fields(Hyperparameters):
        # SageMaker passes each hyperparameter under the key it was given: take both spellings.
        spellings = dict.fromkeys([f"--{field.name.replace('_', '-')}", f"--{field.name}"])
        default = given.get(field.name, field.default)  # argparse converts string defaults
        parser.add_argument(*spellings, type=field.type, default=default, help="hyperparameter")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    try:
        hyperparameters = Hyperparameters(
            **{field.name: getattr(args, field.name) for field in fields(Hyperparameters)}
        )
    except ValueError as error:
        parser.error(str(error))
    cluster = of_job(TRAINING_CONFIG)
{%- if cookiecutter.model_framework == "xgboost" %}
    several = len(cluster.hosts) > 1
    tracker = distributed.start_tracker(cluster) if several else None  # before the reading
{%- else %}
    if len(cluster.hosts) > 1:
        parser.exit(
            2,
            f"train: error: {len(cluster.hosts)} instances: scikit-learn trains on one; "
            "choose a larger instance type instead\n",
        )
{%- endif %}
    try:
{%- if cookiecutter.model_framework == "xgboost" %}
        # A host may get no file of the train channel's shards: it trains on no rows.
        empty = several and not holds_csv(args.train)
        columns = [*schema.FEATURES, schema.TARGET]
        train = pd.DataFrame(columns=columns, dtype=float) if empty else read_csv_files(args.train)
{%- else %}
        train = read_csv_files(args.train)
{%- endif %}
        validation = read_csv_files(args.validation)
    except DataValidationError as error:
        parser.exit(2, f"train: error: {error}\n")
{%- if cookiecutter.model_framework == "xgboost" %}
    with distributed.joined(cluster) if several else contextlib.nullcontext():
        model = fit(train, hyperparameters)
    if tracker:
        tracker.wait_for()
{%- else %}
    model = fit(train, hyperparameters)
{%- endif %}
    name, value = primary_metric(model, validation)
    # One line per metric in a fixed shape, for SageMaker metric definitions to pick up.
    print(f"validation:{name}={value:.6f}")
    if cluster.rank == 0:  # the job's model is the first host's
        save(model, args.model_dir, hyperparameters)
        print(f"train: model saved to {args.model_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
