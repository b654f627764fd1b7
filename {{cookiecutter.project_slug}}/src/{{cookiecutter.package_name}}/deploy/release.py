"""The deploy pipeline's prepare step: which model to deploy, and each stage's configuration.

The model is the newest Approved package in main's model package group: pending and Rejected
packages never deploy, and with no Approved package (none yet, or the newest approval revoked
and no other left) nothing does. So rejecting the model in service and releasing this pipeline
rolls back to the newest model still approved (docs/deployment.md).

SageMaker may send its approval event more than once, so each (package, commit) pair is
claimed once with a create-only S3 write under `<use-case>/deployments/`: a repeat of the same
event stops here and deploys nothing. A new commit of the endpoint's infrastructure is a new
pair and deploys the same model again; REDEPLOY=yes (the deploy pipeline's `Redeploy`
variable) deploys a pair once more on purpose.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

from .. import naming, settings
from ..aws import newest_approved_package
from ..pipeline.code import PACKAGE, files_uri_of

TEMPLATE = "endpoint.yml"
# The part of infra/stages/<stage>.json that infra/monitoring.yml takes.
MONITORING = "Monitoring"


class ReleaseError(Exception):
    """Nothing may be deployed; the message says why and what to do."""


def latest_approved(sagemaker_client, group: str) -> dict:
    """The newest Approved model package of `group` (its list_model_packages summary)."""
    package = newest_approved_package(sagemaker_client, group)
    if package is None:
        raise ReleaseError(
            f"no Approved model package in {group}: approve one (docs/deployment.md, "
            "'Approve a model'); nothing was deployed"
        )
    return package


def claim(s3_client, config: settings.Settings, package: dict, commit: str, build: str) -> str:
    """Record that this build deploys `package` at `commit`; refuse a pair already claimed.

    Returns the claim's key.
    """
    key = claim_key(config, package, commit)
    record = {
        "ModelPackageArn": package["ModelPackageArn"],
        "GitCommit": commit,
        "CodeBuildId": build,
        "ClaimedAt": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        s3_client.put_object(
            Bucket=config.names["artifact_bucket"],
            Key=key,
            Body=json.dumps(record).encode(),
            IfNoneMatch="*",
            ExpectedBucketOwner=config.dev_account_id,
        )
    except s3_client.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "PreconditionFailed":
            raise
        raise ReleaseError(
            f"model package version {package['ModelPackageVersion']} at commit {commit[:12]} "
            "is already deployed or deploying (a repeated approval event); nothing was "
            "deployed again. To redeploy it on purpose, release the deploy pipeline with "
            "its variable Redeploy=yes"
        ) from None
    return key


def claim_key(config: settings.Settings, package: dict, commit: str) -> str:
    group = config.names["model_package_group"]
    version = package["ModelPackageVersion"]
    return f"{config.use_case}/deployments/{group}/{version}/{commit}.json"


def monitored_parts(sagemaker_client, package: dict) -> dict[str, str]:
    """What the drift check needs of a model package: its image, code and drift baseline."""
    described = sagemaker_client.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    container = described["InferenceSpecification"]["Containers"][0]
    metrics = described.get("ModelMetrics", {}).get("ModelDataQuality", {}).get("Statistics", {})
    version = package["ModelPackageVersion"]
    if not metrics.get("S3Uri"):
        raise ReleaseError(
            f"model package version {version} records no drift baseline (its ModelMetrics "
            "lack ModelDataQuality): retrain it with this pipeline, or approve a newer version; "
            "nothing was deployed"
        )
    try:
        code = files_uri_of(container.get("Environment", {}).get("SAGEMAKER_SUBMIT_DIRECTORY", ""))
    except ValueError as error:
        raise ReleaseError(f"model package version {version}: {error}") from None
    return {"ImageUri": container["Image"], "CodeUri": code, "BaselineUri": metrics["S3Uri"]}


def read_stage_file(stages_dir: Path, stage: str) -> tuple[Path, dict]:
    path = stages_dir / f"{stage}.json"
    try:
        return path, json.loads(path.read_text())
    except OSError as error:
        raise ReleaseError(f"{path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ReleaseError(f"{path}: not JSON ({error})") from None


def _merged(path: Path, tuned: dict, derived: dict) -> dict:
    clash = sorted(set(derived) & set(tuned))
    if clash:
        raise ReleaseError(f"{path}: {', '.join(clash)} are derived; remove them from the file")
    return {**tuned, **derived}


def _endpoint_key_arn(config: settings.Settings, stage: str) -> str:
    account, alias = config.account_of(stage), config.names["endpoint_key_alias"]
    return f"arn:{config.partition}:kms:{config.region}:{account}:{alias}"


def _data_capture_uri(config: settings.Settings, stage: str) -> str:
    return f"s3://{config.capture_bucket(stage)}/{config.use_case}/data-capture/{stage}/"


def _tags(config: settings.Settings, stage: str, tuned: dict, package: dict, commit: str) -> dict:
    return {
        **tuned.get("Tags", {}),
        "use-case": config.use_case,
        "stage": stage,
        "model-package-version": str(package["ModelPackageVersion"]),
        "git-commit": commit,
    }


def stage_configuration(
    config: settings.Settings, stage: str, package: dict, commit: str, stages_dir: Path
) -> dict:
    """The CloudFormation template configuration of `stage` for infra/endpoint.yml.

    infra/stages/<stage>.json holds what a team tunes per stage (instances, canary, alarms,
    autoscaling); names, roles, key and capture location are derived here.
    """
    path, tuned = read_stage_file(stages_dir, stage)
    account = config.account_of(stage)
    names = config.names
    derived = {
        "ModelPackageArn": package["ModelPackageArn"],
        "EndpointName": names[f"{stage}_endpoint"],
        "ModelExecutionRoleArn": config.role_arn(account, "model_execution_role"),
        "EndpointKeyArn": _endpoint_key_arn(config, stage),
        "DataCaptureUri": _data_capture_uri(config, stage),
        "ErrorsAlarmName": names[f"{stage}_errors_alarm"],
        "LatencyAlarmName": names[f"{stage}_latency_alarm"],
        "ScalingPolicyName": names[f"{stage}_scaling_policy"],
    }
    return {
        "Parameters": _merged(path, tuned.get("Parameters", {}), derived),
        "Tags": _tags(config, stage, tuned, package, commit),
    }


def monitoring_configuration(
    config: settings.Settings,
    stage: str,
    package: dict,
    parts: dict[str, str],
    commit: str,
    stages_dir: Path,
) -> dict:
    """The template configuration of `stage` for infra/monitoring.yml.

    The stage file's "Monitoring" part holds what a team tunes (schedule, alert e-mail and
    thresholds, retraining on drift); `parts` (monitored_parts) name the deployed model's image,
    code and baseline; the rest is derived.
    """
    path, tuned = read_stage_file(stages_dir, stage)
    account = config.account_of(stage)
    names = config.names
    endpoint = names[f"{stage}_endpoint"]
    derived = {
        "UseCase": config.use_case,
        "Stage": stage,
        "EndpointName": endpoint,
        "DevAccountId": config.dev_account_id,
        **parts,
        "MonitorModule": f"{PACKAGE}.monitor",
        # SageMaker writes <DataCaptureUri><endpoint>/<variant>/yyyy/mm/dd/hh/.
        "CaptureUri": f"{_data_capture_uri(config, stage)}{endpoint}/AllTraffic/",
        "ReportsUri": f"s3://{config.capture_bucket(stage)}/{config.use_case}/monitoring/{stage}/",
        "MetricsNamespace": names["drift_metrics_namespace"],
        "EndpointKeyArn": _endpoint_key_arn(config, stage),
        "DriftCheckRoleArn": config.role_arn(account, "drift_check_role"),
        "DriftScheduleRoleArn": config.role_arn(account, "drift_schedule_role"),
        "AlarmForwardingRoleArn": config.role_arn(account, "alarm_forwarding_role"),
        "JobNamePrefix": names[f"{stage}_drift_job_prefix"],
        "ScheduleName": names[f"{stage}_drift_schedule"],
        "AlertTopicName": names[f"{stage}_alert_topic"],
        "DriftAlarmName": names[f"{stage}_drift_alarm"],
        "DriftCheckMissingAlarmName": names[f"{stage}_drift_check_missing_alarm"],
        "ErrorsAlertName": names[f"{stage}_errors_alert"],
        "LatencyAlertName": names[f"{stage}_latency_alert"],
        "AlarmForwardingRuleName": names[f"{stage}_alarm_forwarding_rule"],
    }
    return {
        "Parameters": _merged(path, tuned.get(MONITORING, {}), derived),
        "Tags": _tags(config, stage, tuned, package, commit),
    }


def prepare(
    boto_session,
    config: settings.Settings,
    commit: str,
    build: str,
    output_dir: Path,
    redeploy: bool = False,
) -> dict:
    """Pick the model, claim it, and write <output_dir>/<stage>.json (the endpoint) and
    <stage>-monitoring.json for every stage."""
    group = config.names["model_package_group"]
    sagemaker_client = boto_session.client("sagemaker")
    package = latest_approved(sagemaker_client, group)
    parts = monitored_parts(sagemaker_client, package)
    configurations = {}
    for stage in naming.STAGES:
        configurations[stage] = stage_configuration(
            config, stage, package, commit, settings.STAGES_DIR
        )
        configurations[f"{stage}-monitoring"] = monitoring_configuration(
            config, stage, package, parts, commit, settings.STAGES_DIR
        )
    claim_commit = f"{commit}-redeploy-{build.rpartition(':')[2]}" if redeploy else commit
    claim(boto_session.client("s3"), config, package, claim_commit, build)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, configuration in configurations.items():
        (output_dir / f"{name}.json").write_text(json.dumps(configuration, indent=2) + "\n")
    return package
