"""Run the whole pipeline on this machine: the same entry points SageMaker runs, in order.

preprocess -> train -> evaluate and baseline -> quality gate -> register -> batch predict

Each run writes under its own folder, `<runs>/<run-id>/<step>/`, mirroring the S3 layout, and
never touches an earlier run. Registration writes a new version into a local model registry
folder, `<registry>/<model-package-group>/<version>/`, with the approval status a SageMaker
model package would get and the drift baseline (`monitor`) its traffic is checked against.
A model below the quality threshold is not registered and the command exits with status 1.
A run that fails before writing anything leaves no folder behind; one that fails or is
interrupted (Ctrl-C, exit status 130) later keeps what its steps wrote, for a look at it.
"""

import argparse
import json
import shutil
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import settings
from ..data.__main__ import main as preprocess
from ..evaluate.__main__ import main as evaluate
from ..evaluate.core import metric_from_report
from ..infer.__main__ import main as predict
from ..monitor.__main__ import main as monitor
from ..monitor.baseline import BASELINE_FILE
from ..options import output_folder
from ..train.__main__ import main as train

# The ECR repository of each framework's prebuilt image (settings.FRAMEWORK_IMAGE).
IMAGE_REPOSITORIES = {"sklearn": "sagemaker-scikit-learn", "xgboost": "sagemaker-xgboost"}


def interpreter_of(image_uri: str) -> str:
    """The Python of the environment that holds the image's library versions.

    That is this environment when the image is the one images.toml records: uv.lock pins this
    environment to that image's versions (test_images.py checks record, lock and settings).
    """
    framework, version = settings.FRAMEWORK_IMAGE
    repository, _, tag = image_uri.rpartition("/")[2].partition(":")
    if repository == IMAGE_REPOSITORIES[framework] and tag.split("-cpu")[0] == version:
        return sys.executable
    raise LookupError(
        f"image {image_uri} has no local environment: images.toml records {framework} {version}"
    )


class QualityGateError(RuntimeError):
    """The model missed the quality threshold and was not registered."""


@dataclass(frozen=True)
class RunResult:
    """Where one local run put its outputs, and how the model scored."""

    run_dir: Path
    model_dir: Path
    report_path: Path
    baseline_path: Path
    metric: str
    metric_value: float
    registered_dir: Path
    predictions_path: Path


def new_run_dir(runs_dir: Path) -> Path:
    """Create a fresh folder for this run; an existing one is never reused."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_dir


def register(
    model_dir: Path,
    report_path: Path,
    baseline_path: Path,
    registry_dir: Path,
    group: str,
    run_id: str,
) -> Path:
    """Copy the model, its report and baseline into the next free version of the group."""
    group_dir = registry_dir / group
    group_dir.mkdir(parents=True, exist_ok=True)
    version = 1 + max(
        (int(path.name) for path in group_dir.iterdir() if path.name.isdigit()), default=0
    )
    while True:  # another run may take the same version at the same moment: take the next one
        try:
            (version_dir := group_dir / str(version)).mkdir()
            break
        except FileExistsError:
            version += 1
    shutil.copytree(model_dir, version_dir / "model")
    shutil.copy2(report_path, version_dir / settings.REPORT_FILE)
    shutil.copy2(baseline_path, version_dir / BASELINE_FILE)
    package = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelApprovalStatus": settings.PENDING_APPROVAL,
        "CreationTime": datetime.now(UTC).isoformat(),
        "RunId": run_id,
        "DriftBaseline": BASELINE_FILE,
    }
    (version_dir / "model_package.json").write_text(json.dumps(package, indent=2) + "\n")
    return version_dir


def _step(entry_point, args: list[str]) -> None:
    status = entry_point([str(arg) for arg in args])
    if status:
        raise SystemExit(status)


class InterruptedRunError(Exception):
    """Ctrl-C stopped a run; `kept` is its partial run folder, None when it held nothing."""

    def __init__(self, kept: Path | None):
        super().__init__(kept)
        self.kept = kept


def run(data: Path, runs_dir: Path, registry_dir: Path, threshold: float, group: str) -> RunResult:
    """Run every step; raise QualityGateError when the model misses `threshold`."""
    run_dir = new_run_dir(runs_dir)
    try:
        return _run_steps(run_dir, data, registry_dir, threshold, group)
    except BaseException as error:  # SystemExit from a step too: keep what it wrote
        kept = any(path.is_file() for path in run_dir.rglob("*"))
        if not kept:
            shutil.rmtree(run_dir)
        if isinstance(error, KeyboardInterrupt):
            raise InterruptedRunError(run_dir if kept else None) from None
        raise


def _run_steps(
    run_dir: Path, data: Path, registry_dir: Path, threshold: float, group: str
) -> RunResult:
    splits = run_dir / "preprocess"
    model_dir = run_dir / "train" / "model"
    evaluation_dir = run_dir / "evaluate"
    _step(preprocess, ["--input", data, "--output-dir", splits])
    _step(
        train,
        [
            "--train",
            splits / "train",
            "--validation",
            splits / "validation",
            "--model-dir",
            model_dir,
        ],
    )
    _step(
        evaluate,
        ["--model-dir", model_dir, "--test-dir", splits / "test", "--output-dir", evaluation_dir],
    )
    baseline_dir = run_dir / "baseline"
    _step(
        monitor,
        [
            "baseline",
            "--train-dir",
            splits / "train",
            "--test-dir",
            splits / "test",
            "--model-dir",
            model_dir,
            "--output-dir",
            baseline_dir,
        ],
    )
    report_path = evaluation_dir / settings.REPORT_FILE
    value = metric_from_report(json.loads(report_path.read_text()))
    if not value >= threshold:  # a NaN metric fails the gate too
        raise QualityGateError(
            f"quality gate failed: {settings.PRIMARY_METRIC} {value:.4f} is below the threshold "
            f"{threshold}; the model was not registered (run: {run_dir})"
        )
    baseline_path = baseline_dir / BASELINE_FILE
    registered_dir = register(
        model_dir, report_path, baseline_path, registry_dir, group, run_dir.name
    )
    predictions_path = run_dir / "predict" / "predictions.csv"
    _step(
        predict,
        [
            "--model-dir",
            model_dir,
            "--input",
            splits / "test" / "test.csv",
            "--output",
            predictions_path,
        ],
    )
    return RunResult(
        run_dir,
        model_dir,
        report_path,
        baseline_path,
        settings.PRIMARY_METRIC,
        value,
        registered_dir,
        predictions_path,
    )


def threshold_option(value: str) -> float:
    try:
        return settings.quality_threshold(value)
    except settings.SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run-local",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data", type=Path, default=settings.SAMPLE_DATA, help="CSV file or directory"
    )
    parser.add_argument(
        "--runs-dir",
        type=output_folder,
        default=str(settings.RUNS_DIR),
        help="each run gets a folder here",
    )
    parser.add_argument(
        "--registry-dir",
        type=output_folder,
        default=str(settings.LOCAL_REGISTRY_DIR),
        help="the local model registry",
    )
    parser.add_argument(
        "--threshold",
        type=threshold_option,
        default=settings.QUALITY_THRESHOLD,
        help=f"the lowest {settings.PRIMARY_METRIC} that is registered, from 0 to 1",
    )
    args = parser.parse_args(argv)
    try:
        group = settings.load().names["model_package_group"]
    except settings.SettingsError as error:
        parser.exit(2, f"run-local: error: {error}\n")
    try:
        result = run(args.data, args.runs_dir, args.registry_dir, args.threshold, group)
    except QualityGateError as error:
        print(f"run-local: {error}", file=sys.stderr)
        return 1
    except InterruptedRunError as interrupted:
        kept = f"kept what it wrote in {interrupted.kept}" if interrupted.kept else "wrote nothing"
        print(f"run-local: interrupted; the run {kept}", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report Ctrl-C
    report = json.loads(result.report_path.read_text())
    print(f"\nrun-local: {result.metric} = {result.metric_value:.4f} (threshold {args.threshold})")
    print(json.dumps(report, indent=2))
    print(f"model:       {result.model_dir}")
    print(f"evaluation:  {result.report_path}")
    print(f"baseline:    {result.baseline_path}")
    print(f"registered:  {result.registered_dir} ({settings.PENDING_APPROVAL})")
    print(f"predictions: {result.predictions_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
