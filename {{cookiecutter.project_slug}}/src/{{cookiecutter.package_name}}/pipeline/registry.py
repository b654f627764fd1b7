"""The local model registry: what a RegisterModel step creates in SageMaker, as folders.

    <registry>/<model package group>/<version>/
        model_package.json  the request as SageMaker records it, with what it adds: the
                            version, ARN and creation time (DescribeModelPackage's fields)
        model/              the model archive the request names, unpacked: what an endpoint loads
        evaluation.json     its ModelMetrics.ModelQuality statistics (the evaluation report)
        baseline.json       its ModelMetrics.ModelDataQuality statistics (the drift baseline)
        bias.json           its ModelMetrics.Bias report (evaluate/bias.py)
        explainability.json its ModelMetrics.Explainability report (evaluate/explain.py)
        evaluation.html     the page its metadata names (evaluate/page.py), to read before approving
        model_card.md       its model card (the request's ModelCard, evaluate/card.py), to read;
                            its status follows the version's, as in SageMaker (infra/cicd.yml)
        sourcedir.tar.gz    the code archive its container serves with (SAGEMAKER_SUBMIT_DIRECTORY),
                            which the scoring pipeline's jobs run (`make score`)

Versions count up from 1 per group and are never reused; only their approval status changes,
by hand, as in SageMaker (`aws sagemaker update-model-package`):

    python -m <package>.pipeline.registry approve <version> [--description TEXT]
    python -m <package>.pipeline.registry reject <version>

Standard library only.
"""

import argparse
import json
import shutil
import sys
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .. import settings
from ..evaluate import card
from ..monitor.baseline import BASELINE_FILE
from ..options import positive_whole_number
from .code import ARCHIVE_NAME

PACKAGE_FILE = "model_package.json"
MODEL_DIR = "model"
CODE_ARCHIVE = ARCHIVE_NAME
# What `approve` and `reject` set, as SageMaker names the statuses.
DECISIONS = {"approve": settings.APPROVED, "reject": "Rejected"}


def new_version_dir(group_dir: Path) -> Path:
    """The next free version's folder, made; another run taking a number skips it."""
    group_dir.mkdir(parents=True, exist_ok=True)
    version = 1 + max(
        (int(path.name) for path in group_dir.iterdir() if path.name.isdigit()), default=0
    )
    while True:
        try:
            (version_dir := group_dir / str(version)).mkdir()
            return version_dir
        except FileExistsError:
            version += 1


def newest_approved(group_dir: Path) -> Path | None:
    """The folder of the group's newest Approved version (the champion), or None."""
    versions = sorted(
        (int(path.parent.name), path.parent)
        for path in group_dir.glob(f"*/{PACKAGE_FILE}")
        if path.parent.name.isdigit()
        and json.loads(path.read_text())["ModelApprovalStatus"] == settings.APPROVED
    )
    return versions[-1][1] if versions else None


def register(
    registry_dir: Path,
    request: dict,
    path_of: Callable[[str], Path],
    arn_prefix: str,
    recorded: dict | None = None,
) -> Path:
    """Write `request` (a resolved RegisterModel request) as a new version; its folder.

    path_of: an s3:// URI the request names -> the local file it stands for.
    arn_prefix: `arn:<partition>:sagemaker:<region>:<account>`, as SageMaker's ARNs start.
    recorded: more fields for model_package.json (the local run's id, say).
    """
    group = request["ModelPackageGroupName"]
    version_dir = new_version_dir(registry_dir / group)
    [container] = request["InferenceSpecification"]["Containers"]
    with tarfile.open(path_of(container["ModelDataUrl"])) as archive:
        archive.extractall(version_dir / MODEL_DIR, filter="data")
    code_archive = container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"]
    shutil.copyfile(path_of(code_archive), version_dir / CODE_ARCHIVE)
    metrics = request.get("ModelMetrics", {})
    documents = {
        settings.REPORT_FILE: metrics["ModelQuality"]["Statistics"],
        BASELINE_FILE: metrics["ModelDataQuality"]["Statistics"],
        settings.BIAS_FILE: metrics["Bias"]["Report"],
        settings.EXPLAINABILITY_FILE: metrics["Explainability"]["Report"],
        settings.EVALUATION_PAGE: {
            "S3Uri": request["CustomerMetadataProperties"][settings.EVALUATION_PAGE_METADATA]
        },
    }
    for name, source in documents.items():
        shutil.copyfile(path_of(source["S3Uri"]), version_dir / name)
    version = int(version_dir.name)
    package = {
        **request,
        "ModelPackageVersion": version,
        "ModelPackageArn": f"{arn_prefix}:model-package/{group.lower()}/{version}",
        "CreationTime": datetime.now(UTC).isoformat(),
        **(recorded or {}),
    }
    (version_dir / PACKAGE_FILE).write_text(json.dumps(package, indent=2) + "\n")
    write_card(version_dir, package)
    return version_dir


def write_card(version_dir: Path, package: dict) -> None:
    """model_card.md: the package's ModelCard, as a person reads it."""
    model_card = package.get("ModelCard")
    if model_card:
        text = card.markdown(
            json.loads(model_card["ModelCardContent"]), model_card["ModelCardStatus"]
        )
        (version_dir / card.MARKDOWN_FILE).write_text(text)


def version_dir_of(registry_dir: Path, arn: str) -> Path:
    """The folder of the version whose ARN is `arn`; LookupError if none has it."""
    for path in registry_dir.glob(f"*/*/{PACKAGE_FILE}"):
        if json.loads(path.read_text())["ModelPackageArn"] == arn:
            return path.parent
    raise LookupError(f"{registry_dir} has no model package {arn}")


def _updated(version_dir: Path, change: Callable[[dict], None]) -> dict:
    """Apply `change` to one version's record, as UpdateModelPackage does; the new record."""
    path = version_dir / PACKAGE_FILE
    package = json.loads(path.read_text())
    change(package)
    package["LastModifiedTime"] = datetime.now(UTC).isoformat()
    partial = path.with_name(f".{PACKAGE_FILE}.partial")
    partial.write_text(json.dumps(package, indent=2) + "\n")
    partial.replace(path)  # a reader sees the old record or the new, never half of one
    write_card(version_dir, package)
    return package


def set_status(version_dir: Path, status: str, description: str | None) -> dict:
    """Record a person's decision on one version; the updated model package."""

    def decide(package: dict) -> None:
        package["ModelApprovalStatus"] = status
        if description:
            package["ApprovalDescription"] = description
        if "ModelCard" in package:  # as the CI's function keeps SageMaker's card
            package["ModelCard"]["ModelCardStatus"] = card.CARD_STATUS[status]

    return _updated(version_dir, decide)


def set_card(version_dir: Path, content: dict) -> dict:
    """Replace one version's model card content, keeping its status; the updated package."""

    def replace(package: dict) -> None:
        package["ModelCard"]["ModelCardContent"] = card.encoded(content)

    return _updated(version_dir, replace)


def add_metadata(version_dir: Path, properties: dict[str, str]) -> dict:
    """Add to one version's CustomerMetadataProperties; the updated model package."""
    return _updated(
        version_dir,
        lambda package: package.setdefault("CustomerMetadataProperties", {}).update(properties),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__.splitlines()[0])
    parser.add_argument("decision", choices=DECISIONS, help="what to do with the version")
    parser.add_argument("version", type=positive_whole_number, help="the version's number")
    parser.add_argument("--description", help="why, as ApprovalDescription records it")
    parser.add_argument(
        "--registry-dir", type=Path, default=settings.LOCAL_REGISTRY_DIR, help="the registry"
    )
    args = parser.parse_args(argv)
    try:
        group = settings.load().names["model_package_group"]
    except settings.SettingsError as error:
        parser.exit(2, f"registry: error: {error}\n")
    group_dir = args.registry_dir / group
    version_dir = group_dir / str(args.version)
    if not (version_dir / PACKAGE_FILE).is_file():
        versions = sorted(int(path.name) for path in group_dir.glob("*") if path.name.isdigit())
        known = ", ".join(map(str, versions)) or "none; make run-local registers one"
        parser.exit(2, f"registry: error: {group} has no version {args.version} (it has {known})\n")
    package = set_status(version_dir, DECISIONS[args.decision], args.description)
    print(f"registry: {group} version {args.version} is {package['ModelApprovalStatus']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
