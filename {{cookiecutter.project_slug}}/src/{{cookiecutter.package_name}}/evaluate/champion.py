"""Finding the champion: the newest Approved version of the release branch's model package group.

A SageMaker job asks SageMaker (ListModelPackages, DescribeModelPackage) and reads the
version's model archive from S3: the pipeline's role may list and describe that group's
packages and read the artifact bucket (infra/cicd.yml, FindTheChampion). A local run's job
reads the local registry its executor names in settings.LOCAL_REGISTRY_VARIABLE, in the group
of settings.LOCAL_CHAMPION_GROUP_VARIABLE: the folders `make run-local` registers into and
`python -m <package>.pipeline.registry approve` approves, whatever the branch.

No Approved version is no champion (the threshold decides alone). An Approved version whose
model cannot be read is a ChampionError: the comparison the approver relies on cannot be made,
so nothing is registered until the version is restored or rejected.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path

from .. import settings
from ..aws import newest_approved_package
from ..infer.handler import InvalidModelError
from ..pipeline import registry
from .core import Champion, ChampionError
from .models import load_model


def find(group: str, scratch: Path, environ: Mapping[str, str] = os.environ) -> Champion | None:
    """The champion of `group`, from the local registry when one is named, else SageMaker's."""
    registry_dir = environ.get(settings.LOCAL_REGISTRY_VARIABLE)
    if registry_dir:
        local_group = environ.get(settings.LOCAL_CHAMPION_GROUP_VARIABLE) or group
        return from_local_registry(Path(registry_dir), local_group)
    import boto3  # only a SageMaker job pays for it
    from botocore.exceptions import BotoCoreError

    try:
        clients = boto3.client("sagemaker"), boto3.client("s3")
    except BotoCoreError as error:  # no region, say
        raise _lookup_failed(group, error) from None
    return from_sagemaker(*clients, group, scratch)


def from_local_registry(registry_dir: Path, group: str) -> Champion | None:
    version_dir = registry.newest_approved(registry_dir / group)
    if version_dir is None:
        return None
    package = json.loads((version_dir / registry.PACKAGE_FILE).read_text())
    version = package["ModelPackageVersion"]
    model_dir = version_dir / registry.MODEL_DIR
    return Champion(version, package["ModelPackageArn"], _loaded(group, version, model_dir))


def from_sagemaker(sagemaker_client, s3_client, group: str, scratch: Path) -> Champion | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        summary = newest_approved_package(sagemaker_client, group)
        if summary is None:
            return None
        package = sagemaker_client.describe_model_package(
            ModelPackageName=summary["ModelPackageArn"]
        )
    except (BotoCoreError, ClientError) as error:
        raise _lookup_failed(group, error) from None
    version = package["ModelPackageVersion"]
    uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    model_dir = scratch / "champion"
    model_dir.mkdir(parents=True)
    try:
        s3_client.download_file(bucket, key, str(model_dir / "model.tar.gz"))
    except (BotoCoreError, ClientError) as error:
        raise ChampionError(
            f"champion {group} version {version}: its model {uri} cannot be read ({error}); "
            "restore it, or reject the version so that the previous Approved one is the champion"
        ) from None
    return Champion(version, package["ModelPackageArn"], _loaded(group, version, model_dir))


def _loaded(group: str, version: int, model_dir: Path):
    try:
        return load_model(model_dir, model_dir / "unpacked")
    except (FileNotFoundError, InvalidModelError) as error:
        raise ChampionError(
            f"champion {group} version {version}: {error}; restore its model, or reject the "
            "version so that the previous Approved one is the champion"
        ) from None


def _lookup_failed(group: str, error: Exception) -> ChampionError:
    return ChampionError(
        f"cannot look up the champion in {group}: {error} (a local run names its registry in "
        f"{settings.LOCAL_REGISTRY_VARIABLE})"
    )
