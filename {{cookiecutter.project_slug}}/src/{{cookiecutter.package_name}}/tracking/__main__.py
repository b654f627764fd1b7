"""Track entry point: log the pipeline execution as one MLflow run (tracking/core.py).

Follows the SageMaker Processing contract: reads the model (/opt/ml/processing/model),
Evaluate's documents (/opt/ml/processing/evaluation), the drift baseline
(/opt/ml/processing/baseline), Preprocess's data.json (/opt/ml/processing/data) and the test
split (/opt/ml/processing/test, for the model's signature), and logs them to
MLFLOW_TRACKING_URI; with none set, nothing is logged. Given --model-package-arn, the registered
version's metadata then names the run (mlflow-run-id, mlflow-experiment): in the local registry
the executor names in settings.LOCAL_REGISTRY_VARIABLE, else by UpdateModelPackage.

Tracking never blocks training: a tracking server that cannot be reached, or any other failure
to log, gives one warning line and the step succeeds; with settings.TRACKING_STRICT it fails.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from .. import settings, threads
from ..data.core import first_rows
from ..evaluate import card
from ..evaluate.models import bundle_dir, load_model
from ..options import add_lineage_option
from ..pipeline import registry
from . import wheelhouse
from .core import SIGNATURE_ROWS, collect, log
from .wheelhouse import WHEELHOUSE_VARIABLE

PROCESSING_DIR = settings.PROCESSING_DIR


def name_run_on_package(arn: str, run_id: str, experiment: str) -> None:
    """Add the run to the registered version's metadata and model card, where the version was
    registered."""
    properties = {"mlflow-run-id": run_id, "mlflow-experiment": experiment}
    registry_dir = os.environ.get(settings.LOCAL_REGISTRY_VARIABLE)
    if registry_dir:
        version_dir = registry.version_dir_of(Path(registry_dir), arn)
        package = registry.add_metadata(version_dir, properties)
        content = json.loads(package["ModelCard"]["ModelCardContent"])
        registry.set_card(version_dir, card.with_run(content, run_id, experiment))
        return
    import boto3  # only a SageMaker job pays for it

    sagemaker = boto3.client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    content = json.loads(package["ModelCard"]["ModelCardContent"])
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties=properties,
        ModelCard={
            "ModelCardContent": card.encoded(card.with_run(content, run_id, experiment)),
            "ModelCardStatus": package["ModelCard"]["ModelCardStatus"],
        },
    )


def one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="track", description=__doc__.splitlines()[0])
    for name in ("model", "evaluation", "baseline", "data", "test"):
        parser.add_argument(f"--{name}-dir", type=Path, default=PROCESSING_DIR / name)
    parser.add_argument("--experiment", required=True, help="the MLflow experiment's name")
    parser.add_argument("--run-name", required=True, help="the run's name: the execution's id")
    add_lineage_option(parser, "as tags of the run")
    parser.add_argument("--model-package-arn", help="the version the model was registered as")
    args = parser.parse_args(argv)
    threads.limit(parser.prog)
    tracking_uri = os.environ.get(settings.TRACKING_URI_VARIABLE, "")
    if not tracking_uri:
        print(f"track: no tracking URI ({settings.TRACKING_URI_VARIABLE}): nothing logged")
        return 0
    try:
        seconds = wheelhouse.make_importable("mlflow", os.environ.get(WHEELHOUSE_VARIABLE))
        if seconds:
            print(f"track: MLflow from the wheelhouse in {seconds:.1f} s")
        with tempfile.TemporaryDirectory() as scratch:
            model = load_model(args.model_dir, Path(scratch))
            logged = collect(
                bundle_dir(args.model_dir, Path(scratch)),
                args.evaluation_dir,
                args.baseline_dir,
                args.data_dir,
                dict(args.lineage),
                args.model_package_arn,
            )
            test = first_rows(args.test_dir, SIGNATURE_ROWS)
            run_id = log(tracking_uri, args.experiment, args.run_name, logged, model, test)
        if args.model_package_arn:
            name_run_on_package(args.model_package_arn, run_id, args.experiment)
    except Exception as error:  # whatever MLflow, the network or AWS raise: never in the way
        problem = f"MLflow tracking at {tracking_uri} failed: {one_line(error)}"
        if settings.TRACKING_STRICT:
            parser.exit(1, f"track: error: {problem} (settings.TRACKING_STRICT)\n")
        print(f"track: warning: {problem}; the pipeline goes on untracked", file=sys.stderr)
        return 0
    print(f"track: logged run {run_id} of experiment {args.experiment} at {tracking_uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
