"""The local model registry: what a RegisterModel step creates in SageMaker, as folders.

    <registry>/<model package group>/<version>/
        model_package.json  the request as SageMaker records it, with what it adds: the
                            version, ARN and creation time (DescribeModelPackage's fields)
        model/              the model archive the request names, unpacked: what an endpoint loads
        evaluation.json     its ModelMetrics.ModelQuality statistics (the evaluation report)
        baseline.json       its ModelMetrics.ModelDataQuality statistics (the drift baseline)

Versions count up from 1 per group and are never reused or rewritten. Standard library only.
"""

import json
import shutil
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .. import settings
from ..monitor.baseline import BASELINE_FILE

PACKAGE_FILE = "model_package.json"
MODEL_DIR = "model"


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
    metrics = request.get("ModelMetrics", {})
    for kind, name in (("ModelQuality", settings.REPORT_FILE), ("ModelDataQuality", BASELINE_FILE)):
        shutil.copyfile(path_of(metrics[kind]["Statistics"]["S3Uri"]), version_dir / name)
    version = int(version_dir.name)
    package = {
        **request,
        "ModelPackageVersion": version,
        "ModelPackageArn": f"{arn_prefix}:model-package/{group.lower()}/{version}",
        "CreationTime": datetime.now(UTC).isoformat(),
        **(recorded or {}),
    }
    (version_dir / PACKAGE_FILE).write_text(json.dumps(package, indent=2) + "\n")
    return version_dir
