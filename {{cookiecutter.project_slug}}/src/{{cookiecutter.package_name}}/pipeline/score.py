"""Run the scoring pipeline on this machine: a file or folder scored with an approved model.

`make score INPUT=<file or folder>` builds the scoring pipeline's definition (`scoring.py`),
stages the input as the batch of a date (today, UTC, unless --date) and the model version's
archive, baseline and code where the definition's parameters name them, and runs it with the
executor, as `make run-local` runs the training pipeline. The version is the newest Approved
one of the local model registry's group for this checkout, where `make run-local` registers and
`python -m <package>.pipeline.registry approve` approves (--version picks another Approved
one). In the cloud a stage scores with the version its deployment was given (deploy/).

Each run gets a new folder under runs/, as a local training run does; its outputs are where
the pipeline writes them in S3, under `s3/`:

    <scoring root>/output/<date>/<run id>/predictions/  the scored files and manifest.json
    <scoring root>/output/<date>/<run id>/drift/        drift.json and drift.html

Exit status: 0 scored; 1 the execution failed; 2 a problem to fix first: no Approved version,
a bad date, a file the model cannot score (named, with its line); 130 interrupted.
"""

import argparse
import json
import sys
import tarfile
from datetime import UTC, date, datetime
from pathlib import Path

from .. import settings
from ..aws import CommandError
from ..infer.batch import MANIFEST_FILE, batch_files
from ..infer.handler import InvalidRequestError
from ..monitor.baseline import BASELINE_FILE
from ..options import output_folder
from . import code, registry
from .executor import Executor, RunFolder, pack
from .expressions import parameter_values
from .local import (
    StoppedRunError,
    built_definition,
    execute,
    new_executor,
    new_run_dir,
    preloaded_modules,
    show,
    stage_data,
    stopped,
)
from .parameters import ApprovedModel, scoring_root

PROGRAM = "score"


def approved_version(group_dir: Path, version: int | None) -> Path:
    """The folder of the version to score with: `version`, or the newest Approved one."""
    if version is None:
        found = registry.newest_approved(group_dir)
        if found is None:
            raise CommandError(
                f"{group_dir} has no Approved version; run make run-local, then python -m "
                f"{code.PACKAGE}.pipeline.registry approve <version>"
            )
        return found
    version_dir = group_dir / str(version)
    if not (version_dir / registry.PACKAGE_FILE).is_file():
        raise CommandError(f"{group_dir} has no version {version}")
    status = json.loads((version_dir / registry.PACKAGE_FILE).read_text())["ModelApprovalStatus"]
    if status != settings.APPROVED:
        raise CommandError(
            f"version {version} is {status}; approve it first, or score with another"
        )
    return version_dir


def model_code(version_dir: Path, model: ApprovedModel) -> code.CodeBundle:
    """The code the version was registered with, from the archive the registry kept."""
    archive = version_dir / registry.CODE_ARCHIVE
    if not archive.is_file():
        raise CommandError(
            f"{version_dir} has no {registry.CODE_ARCHIVE} (registered before scoring kept it); "
            "run make run-local and approve the new version"
        )
    with tarfile.open(archive) as tar:
        files = tuple(
            (member.name, tar.extractfile(member).read())
            for member in tar.getmembers()
            if member.isfile() and member.name != "setup.py"
        )
    bundle = code.CodeBundle(tuple(sorted(files)))
    if bundle.digest != model.code_digest:
        raise CommandError(f"{archive}: not the code of digest {model.code_digest}; damaged")
    return bundle


def stage_model(
    folder: RunFolder, version_dir: Path, model: ApprovedModel, bundle: code.CodeBundle
) -> None:
    """Put the version's model archive, baseline and code where its model package names them."""
    pack(version_dir / registry.MODEL_DIR, folder.s3(model.model_data_url, PROGRAM))
    baseline = folder.s3(model.baseline_uri, PROGRAM)
    baseline.parent.mkdir(parents=True, exist_ok=True)
    baseline.write_bytes((version_dir / BASELINE_FILE).read_bytes())
    files_dir = folder.s3(model.code_uri, PROGRAM)
    for path, content in bundle.files:
        (files_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (files_dir / path).write_bytes(content)


def run(
    data: Path,
    batch_date: date,
    runs_dir: Path,
    version_dir: Path,
    config: settings.Settings,
    cache_dir: Path | None = None,
) -> tuple[Path, dict]:
    """Score `data` with the version in `version_dir`; the run's folder and its records."""
    model = ApprovedModel.of(json.loads((version_dir / registry.PACKAGE_FILE).read_text()))
    model_bundle = model_code(version_dir, model)
    bundle = code.collect()
    cache = cache_dir or settings.DEFINITION_CACHE_DIR
    document = built_definition(config, bundle, cache, pipeline="scoring")
    given = {**model.parameters(), "BatchDate": batch_date.isoformat(), "MetricsNamespace": ""}
    parameters = parameter_values(document["Parameters"], given)
    input_uri = f"{scoring_root(config)}/input/{parameters['BatchDate']}/"
    run_dir = new_run_dir(runs_dir)
    folder = RunFolder(run_dir)

    def register(step: str, request: dict) -> dict:
        raise AssertionError("the scoring pipeline registers no model")

    def start() -> Executor:
        stage_data(folder, data, input_uri)
        stage_model(folder, version_dir, model, model_bundle)
        preload = preloaded_modules(bundle)
        registry_dir = version_dir.parents[1]
        return new_executor(
            document, folder, parameters, config, register, preload, registry_dir, log=show
        )

    def user_files(message: str) -> str:  # the Score job names its input files by their URI
        original = data if data.is_dir() else data.parent
        return message.replace(input_uri.rstrip("/"), str(original))

    records = execute(run_dir, start, user_files)
    return run_dir, records


def output_dir(run_dir: Path, records: dict, step: str, output: str) -> Path:
    """Where a step's output was written in the run's S3."""
    outputs = records[step]["Properties"]["ProcessingOutputConfig"]["Outputs"]
    return RunFolder(run_dir).s3(outputs[output]["S3Output"]["S3Uri"], PROGRAM)


def report(run_dir: Path, records: dict) -> None:
    predictions = output_dir(run_dir, records, "Score", "predictions")
    drift_dir = output_dir(run_dir, records, "DriftCheck", "report")
    manifest = json.loads((predictions / MANIFEST_FILE).read_text())
    version = manifest["model_package_version"]
    print(
        f"\n{PROGRAM}: {manifest['rows_out']} rows of {len(manifest['files'])} file(s) scored "
        f"with version {version}"
    )
    print(f"predictions: {predictions}")
    print(f"manifest:    {predictions / MANIFEST_FILE}")
    print(f"drift:       {drift_dir / 'drift.html'}")


def batch_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="CSV file or folder of them")
    parser.add_argument(
        "--date",
        type=batch_date,
        default=datetime.now(UTC).date().isoformat(),
        help="the batch's date, YYYY-MM-DD (default: today, UTC)",
    )
    parser.add_argument("--version", type=int, help="an Approved version (default: the newest)")
    parser.add_argument(
        "--runs-dir", type=output_folder, default=str(settings.RUNS_DIR), help="runs go here"
    )
    parser.add_argument(
        "--registry-dir", type=Path, default=settings.LOCAL_REGISTRY_DIR, help="the registry"
    )
    args = parser.parse_args(argv)
    try:
        batch_files(args.input)  # what the Score job would refuse, refused before any run
    except InvalidRequestError as error:
        parser.exit(2, f"{PROGRAM}: error: --input {args.input}: {error}\n")
    try:
        config = settings.load()
        group_dir = args.registry_dir / config.names["model_package_group"]
        version_dir = approved_version(group_dir, args.version)
        run_dir, records = run(args.input, args.date, args.runs_dir, version_dir, config)
    except (settings.SettingsError, CommandError) as error:
        parser.exit(2, f"{PROGRAM}: error: {error}\n")
    except StoppedRunError as error:
        return stopped(error, PROGRAM)
    report(run_dir, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
