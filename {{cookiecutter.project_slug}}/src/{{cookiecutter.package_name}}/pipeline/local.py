"""Run the SageMaker Pipeline on this machine: the definition `upsert` uploads, executed.

`make run-local` builds the pipeline definition (`definition.py`), stages the data at its
InputDataUri and the code bundle where the definition names it, and runs it with the executor
(`executor.py`): every step as SageMaker runs it, each job a process of this environment,
which uv.lock pins to the versions of the image the definition names. Each run gets a new
folder, and no run touches another's:

    runs/<run id>/s3/<bucket>/<key>  what the steps read and wrote, at their S3 locations
    runs/<run id>/jobs/<step>/       each job's /opt/ml (Train's model/ is the trained model)
    runs/<run id>/jobs/<step>.log    each job's output
    runs/<run id>/execution.json     each step's status and properties
    runs/<run id>/predictions.csv    the registered model's predictions on the test split

A model that passes the quality gate becomes a new version of the local model registry
(`registry.py`), with the approval status its request carries. Building the definition costs
the SageMaker SDK seconds: the built document is kept in .cache/definitions/, one per code,
settings and SDK version, and reused while none of them changes.

Exit status: 0 registered; 1 the execution failed (below the gate: the Fail step's message);
2 a problem to fix first: a setting, a parameter, the input data (its job exited with 2);
130 interrupted (Ctrl-C). A run in which no step succeeded leaves no folder; one that stops
later keeps its folder for a look.
"""

import argparse
import ast
import contextlib
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .. import settings
from ..aws import CommandError
from ..monitor.baseline import BASELINE_FILE
from ..options import output_folder
from . import code, registry
from .executor import (
    CONTAINER_ROOT,
    ExecutionError,
    Executor,
    FailStepError,
    JobFailedError,
    Plan,
    RunFolder,
)
from .expressions import Execution, parameter_values

# The ECR repository of each framework's prebuilt image (settings.FRAMEWORK_IMAGE).
IMAGE_REPOSITORIES = {"sklearn": "sagemaker-scikit-learn", "xgboost": "sagemaker-xgboost"}
# What `make monitor` and the sample captures take from a run: Train's /opt/ml/model (`run_model`)
# and the Baseline step's output, where the jobs wrote them.
RUN_BASELINE = Path("jobs", "Baseline", "processing", "baseline", BASELINE_FILE)
PREDICTIONS_FILE = "predictions.csv"
# The libraries whose import name is not their distribution's name.
IMPORT_NAMES = {"scikit-learn": "sklearn"}
STAGED_BY_THE_RUN = ("InputDataUri",)


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


def preloaded_modules(bundle: code.CodeBundle, record: Path = settings.IMAGE_RECORD) -> list[str]:
    """What the jobs' starter imports once: the bundle's imports of the image's libraries.

    Those are the libraries images.toml records (the package itself never: the jobs import it
    from the bundle). No record, no preloading: each job starts cold.
    """
    if not record.is_file():
        return []
    pins = tomllib.loads(record.read_text(encoding="utf-8"))["image"]["pins"]
    libraries = {IMPORT_NAMES.get(name, name) for name in pins}
    imported = set()
    for path, content in bundle.files:
        if path.endswith(".py"):
            for node in ast.walk(ast.parse(content, path)):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module)
    return sorted(name for name in imported if name.partition(".")[0] in libraries)


def import_all(modules: list[str]) -> None:
    for module in modules:
        with contextlib.suppress(Exception):  # the code that imports it reports the failure
            importlib.import_module(module)


def cached_definition(
    config: settings.Settings, bundle: code.CodeBundle, cache_dir: Path, pipeline: str = "training"
) -> Path:
    """Where the definition of this pipeline, code, settings and SDK version is kept."""
    try:
        sdk_version = metadata.version("sagemaker")
    except metadata.PackageNotFoundError:
        raise CommandError(
            "the SageMaker SDK builds the pipeline definition, and it is not installed;"
            " run make setup EXTRAS=dev,pipeline"
        ) from None
    from .__main__ import role_arn

    arn = role_arn(None, config, required=False)
    # The lock too: the Track steps name the wheelhouse it makes (tracking/wheelhouse.py).
    lock = hashlib.sha256(settings.LOCK_FILE.read_bytes()).hexdigest()
    key = repr((pipeline, bundle.digest, config, arn, sdk_version, lock))
    return cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def built_definition(
    config: settings.Settings, bundle: code.CodeBundle, cache_dir: Path, pipeline: str = "training"
) -> dict:
    """The definition of `pipeline` for this code and these settings, built once."""
    from .__main__ import build_offline, role_arn

    cached = cached_definition(config, bundle, cache_dir, pipeline)
    if cached.is_file():
        return json.loads(cached.read_text())
    arn = role_arn(None, config, required=False)
    print(f"building the {pipeline} pipeline's definition (once per code and settings)")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        text = build_offline(config, arn, pipeline).definition()
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{uuid.uuid4().hex}")
    partial.write_text(text)
    partial.replace(cached)  # whole or absent, when runs build at once
    return json.loads(text)


def stage_data(folder: RunFolder, data: Path, uri: str) -> None:
    """Put a file, or a folder's files, under the S3 prefix `uri` of the run's S3."""
    data_dir = folder.s3(uri.rstrip("/") + "/", "run-local")
    if data.is_dir():
        shutil.copytree(data, data_dir)
    else:
        data_dir.mkdir(parents=True)
        shutil.copyfile(data, data_dir / data.name)


def stage(folder: RunFolder, data: Path, data_uri: str, bundle: code.CodeBundle, root: str):
    """Put the data at `data_uri` and the code where `upsert` publishes it, in the run's S3."""
    stage_data(folder, data, data_uri)
    archive = folder.s3(bundle.archive_uri(root), "run-local")
    files_dir = folder.s3(bundle.files_uri(root), "run-local")
    for path, content in bundle.files:
        (files_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (files_dir / path).write_bytes(content)
    archive.write_bytes(bundle.archive())


@dataclass(frozen=True)
class RunResult:
    """Where one local run put its outputs, and what it registered."""

    run_dir: Path
    model_dir: Path
    report_path: Path
    baseline_path: Path
    split_dirs: dict[str, Path]
    threshold: float
    registered_dir: Path
    predictions_path: Path


class StoppedRunError(Exception):
    """The execution did not succeed: `cause` says why; `kept` is its folder, None if removed."""

    def __init__(self, cause: BaseException, kept: Path | None, message: str | None = None):
        super().__init__(message or str(cause))
        self.cause, self.kept = cause, kept


def new_run_dir(runs_dir: Path) -> Path:
    """A fresh folder for this run; an existing one is never reused."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_dir


def show(line: str) -> None:
    print(line, flush=True)


def staged_data(document: dict, folder: RunFolder) -> list[Path]:
    """Where the jobs find the data: the folder of each processing input read from InputDataUri."""
    found = []
    for name, step in Plan.of(document).steps.items():
        for item in step.get("Arguments", {}).get("ProcessingInputs", []):
            source = item.get("S3Input", {})
            if source.get("S3Uri") == {"Get": "Parameters.InputDataUri"}:
                local_path = Path(source["LocalPath"]).relative_to(CONTAINER_ROOT)
                hosts = sorted(folder.job(name).glob("algo-*/"))  # a job of several instances
                found += [root / local_path for root in [folder.job(name), *hosts]]
    return found


def arn_prefix(config: settings.Settings) -> str:
    """How the dev account's SageMaker ARNs start."""
    return f"arn:{config.partition}:sagemaker:{config.region}:{config.dev_account_id}"


def new_executor(
    document: dict,
    folder: RunFolder,
    parameters: dict,
    config: settings.Settings,
    register: Callable[[str, dict], dict],
    preload: list[str],
    registry_dir: Path,
    job_environment: dict[str, str] | None = None,
    **options,
) -> Executor:
    """An executor of `document` in `folder`, its execution id the folder's name.

    Its jobs find the champion in the local registry at `registry_dir`, among the versions of
    the group this run registers into (evaluate/champion.py).
    """
    execution_id = folder.root.name
    pipeline = config.names["pipeline_name"]
    execution = Execution(
        parameters=parameters,
        variables={
            "PipelineExecutionId": execution_id,
            "PipelineExecutionArn": f"{arn_prefix(config)}:pipeline/{pipeline}"
            f"/execution/{execution_id}",
            "PipelineName": pipeline,
        },
    )
    job_environment = {
        **(job_environment or {}),
        settings.LOCAL_REGISTRY_VARIABLE: str(registry_dir.resolve()),
        settings.LOCAL_CHAMPION_GROUP_VARIABLE: config.names["model_package_group"],
    }
    return Executor(
        document,
        folder,
        execution,
        interpreter_of,
        register,
        preload=preload,
        job_environment=job_environment,
        **options,
    )


def execute(run_dir: Path, start: Callable[[], Executor], user_files: Callable[[str], str]):
    """Run the executor `start` stages and returns; its step records.

    Any stop raises StoppedRunError, its message with `user_files` applied (the staged copies
    named as the user's files); a run in which no step succeeded leaves no folder.
    """
    executor = None
    try:
        executor = start()
        return executor.run()
    except BaseException as error:
        records = executor.records.values() if executor else []
        ran = any(record["StepStatus"] == "Succeeded" for record in records)
        if not ran:
            shutil.rmtree(run_dir)
        message = user_files(str(error))
        raise StoppedRunError(error, run_dir if ran else None, message) from None


def run(
    data: Path,
    runs_dir: Path,
    registry_dir: Path,
    given: dict[str, str],
    config: settings.Settings,
    cache_dir: Path | None = None,
) -> RunResult:
    """Execute the pipeline on `data` with the `given` parameters; raise StoppedRunError."""
    bundle = code.collect()
    preload = preloaded_modules(bundle)
    document = built_definition(config, bundle, cache_dir or settings.DEFINITION_CACHE_DIR)
    parameters = parameter_values(document["Parameters"], given)
    run_dir = new_run_dir(runs_dir)
    folder = RunFolder(run_dir)
    registered = []

    def register(step: str, request: dict) -> dict:
        version_dir = registry.register(
            registry_dir,
            request,
            lambda uri: folder.s3(uri, step),
            arn_prefix(config),
            {"RunId": run_dir.name},
        )
        registered.append(version_dir)
        package = json.loads((version_dir / registry.PACKAGE_FILE).read_text())
        return {key: package[key] for key in ("ModelPackageArn", "ModelPackageVersion")}

    def start() -> Executor:
        stage(folder, data, parameters["InputDataUri"], bundle, config.branch_root)
        executor = new_executor(
            document, folder, parameters, config, register, preload, registry_dir, log=show
        )
        # The batch prediction after registration imports them here: done while the jobs run.
        threading.Thread(target=import_all, args=(preload,), daemon=True).start()
        return executor

    def user_files(message: str) -> str:
        for staged in staged_data(document, folder):  # name the user's files, not their copies
            copy, original = (staged, data) if data.is_dir() else (staged / data.name, data)
            message = message.replace(str(copy), str(original))
        return message

    records = execute(run_dir, start, user_files)
    [version_dir] = registered
    outputs = records["Preprocess"]["Properties"]["ProcessingOutputConfig"]["Outputs"]
    split_dirs = {
        name: folder.s3(output["S3Output"]["S3Uri"], "run-local")
        for name, output in outputs.items()
    }
    predictions_path = run_dir / PREDICTIONS_FILE
    predict(version_dir / registry.MODEL_DIR, split_dirs["test"], predictions_path)
    return RunResult(
        run_dir,
        run_model(run_dir),
        version_dir / settings.REPORT_FILE,
        version_dir / BASELINE_FILE,
        split_dirs,
        parameters["QualityThreshold"],
        version_dir,
        predictions_path,
    )


def predict(model_dir: Path, test_dir: Path, output: Path) -> None:
    """The batch prediction after registration: the registered model on the test split.

    A Preprocess of several instances wrote the split in parts: they are scored as one file.
    """
    from ..data.core import csv_files
    from ..infer.__main__ import main as batch_predict

    with tempfile.TemporaryDirectory() as scratch:
        [rows, *more] = csv_files(test_dir)
        if more:
            whole = Path(scratch) / rows.name
            with whole.open("w") as stream:
                stream.write(rows.read_text())
                for part in more:
                    stream.writelines(part.read_text().splitlines(keepends=True)[1:])
            rows = whole
        arguments = ["--model-dir", model_dir, "--input", rows, "--output", output]
        status = batch_predict([str(argument) for argument in arguments])
    if status:
        raise SystemExit(status)


def run_model(run_dir: Path) -> Path:
    """The /opt/ml/model of the Train job, or of the Tune step's best trial; of the first host
    when it trained on several."""
    job = run_dir / "jobs" / "Train"
    if (run_dir / "jobs" / "Tune").is_dir():
        steps = json.loads((run_dir / "execution.json").read_text())["Steps"]
        [tune] = [step for step in steps if step["StepName"] == "Tune"]
        best = tune["Properties"]["BestTrainingJob"]["TrainingJobName"]
        job = run_dir / "jobs" / "Tune" / best
    first_host = job / "algo-1"
    return (first_host if first_host.is_dir() else job) / "model"


def newest_run(runs_dir: Path) -> Path:
    """The newest run folder that holds a drift baseline (`make monitor` checks against it)."""
    found = sorted(runs_dir.glob(f"*/{RUN_BASELINE.as_posix()}"))
    if not found:
        raise FileNotFoundError(
            f"no baseline in {runs_dir}: run `make run-local` first, or pass --baseline"
        )
    return found[-1].parents[len(RUN_BASELINE.parts) - 1]


def threshold_option(value: str) -> float:
    try:
        return settings.quality_threshold(value)
    except settings.SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def given_parameters(args, config: settings.Settings) -> dict[str, str]:
    """--parameter pairs, checked as `start` checks them, and --threshold."""
    from .__main__ import parse_parameters

    given = {pair["Name"]: pair["Value"] for pair in parse_parameters(args.parameter, config)}
    staged = sorted(set(given) & set(STAGED_BY_THE_RUN))
    if staged:
        raise CommandError(
            f"--parameter {staged[0]}: the local run stages --data there; pass --data instead"
        )
    if args.threshold is not None:
        if "QualityThreshold" in given:
            raise CommandError("--threshold sets --parameter QualityThreshold; drop one of the two")
        given["QualityThreshold"] = str(args.threshold)
    given.setdefault("MlflowTrackingUri", local_tracking_uri())
    commit = checkout_commit()
    if commit:
        given.setdefault("GitCommit", commit)
    return given


def checkout_commit() -> str | None:
    """The commit the project's checkout is on (its runs are tracked with it), if any: none
    where settings sees no branch of its own (no checkout, or one inside another repository)."""
    if settings.current_branch() == settings.UNKNOWN_BRANCH:
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(settings.PROJECT_ROOT), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
        )
    except OSError:  # no git installed
        return None
    return head.stdout.strip() if head.returncode == 0 else None


def local_tracking_uri() -> str:
    """Where a local run is tracked: MLFLOW_TRACKING_URI, or the project's own SQLite store."""
    chosen = os.environ.get(settings.TRACKING_URI_VARIABLE)
    if chosen is not None:
        # A relative SQLite path means this folder; the Track job runs in a folder of its own.
        if chosen.startswith("sqlite:///") and not chosen.startswith("sqlite:////"):
            return f"sqlite:///{Path(chosen.removeprefix('sqlite:///')).resolve()}"
        return chosen
    settings.MLFLOW_DIR.mkdir(exist_ok=True)
    return settings.LOCAL_TRACKING_URI


def report(result: RunResult) -> None:
    from ..evaluate.core import metric_from_report

    evaluation = json.loads(result.report_path.read_text())
    package = json.loads((result.registered_dir / registry.PACKAGE_FILE).read_text())
    value = metric_from_report(evaluation)
    print(f"\nrun-local: {settings.PRIMARY_METRIC} = {value:.4f} (threshold {result.threshold})")
    print(f"run-local: {evaluation[settings.COMPARISON_KEY]['summary']}")
    bias = json.loads((result.registered_dir / settings.BIAS_FILE).read_text())
    print(f"run-local: bias: {bias['gate']['summary']}")
    print(json.dumps(evaluation, indent=2))
    print(f"model:       {result.model_dir}")
    print(f"evaluation:  {result.report_path}")
    print(f"report:      {result.registered_dir / settings.EVALUATION_PAGE}")
    print(f"baseline:    {result.baseline_path}")
    print(f"registered:  {result.registered_dir} ({package['ModelApprovalStatus']})")
    print(f"predictions: {result.predictions_path}")


def stopped(error: StoppedRunError, program: str = "run-local") -> int:
    """One line on why the run stopped, and its exit status."""
    cause = error.cause
    if isinstance(cause, KeyboardInterrupt):
        kept = f"kept what it wrote in {error.kept}" if error.kept else "wrote nothing"
        print(f"{program}: interrupted; the run {kept}", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report Ctrl-C
    where = f" (run: {error.kept})" if error.kept else ""
    message = cause.message if isinstance(cause, FailStepError) else str(error)
    print(f"{program}: {message}{where}", file=sys.stderr)
    if isinstance(cause, JobFailedError) and cause.status == 2:
        return 2
    if isinstance(cause, ExecutionError):
        return 1
    raise cause


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
        help=f"the lowest {settings.PRIMARY_METRIC} that is registered, from 0 to 1"
        f" (default: the pipeline's, {settings.QUALITY_THRESHOLD})",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"a pipeline parameter, as `python -m {code.PACKAGE}.pipeline start` takes it",
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.exit(2, f"run-local: error: --data {args.data}: no such file or folder\n")
    try:
        config = settings.load()
        given = given_parameters(args, config)
        result = run(args.data, args.runs_dir, args.registry_dir, given, config)
    except (settings.SettingsError, CommandError) as error:
        parser.exit(2, f"run-local: error: {error}\n")
    except StoppedRunError as error:
        return stopped(error)
    report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
