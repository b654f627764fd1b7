"""Train entry point, following the SageMaker training contract.

SageMaker sets SM_CHANNEL_TRAIN and SM_CHANNEL_VALIDATION (the input channels), SM_MODEL_DIR
(uploaded as model.tar.gz when the job ends) and passes each hyperparameter as
`--<name> <value>`. Locally, pass the directories as options instead.
"""

import argparse
import os
from dataclasses import fields
from pathlib import Path

from ..data.core import DataValidationError, read_csv_files
from ..evaluate.core import primary_metric
from .core import Hyperparameters, fit, save


def argument_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(prog="train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--train", type=Path, default=env.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=env.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    parser.add_argument("--model-dir", type=Path, default=env.get("SM_MODEL_DIR", "/opt/ml/model"))
    for field in fields(Hyperparameters):
        # SageMaker passes each hyperparameter under the key it was given: take both spellings.
        hyphenated = f"--{field.name.replace('_', '-')}"
        parser.add_argument(hyphenated, f"--{field.name}", type=field.type, default=field.default)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    try:
        hyperparameters = Hyperparameters(
            **{field.name: getattr(args, field.name) for field in fields(Hyperparameters)}
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        train, validation = read_csv_files(args.train), read_csv_files(args.validation)
    except DataValidationError as error:
        parser.exit(2, f"train: error: {error}\n")
    model = fit(train, hyperparameters)
    save(model, args.model_dir, hyperparameters)
    name, value = primary_metric(model, validation)
    # One line per metric in a fixed shape, for SageMaker metric definitions to pick up.
    print(f"validation:{name}={value:.6f}")
    print(f"train: model saved to {args.model_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
