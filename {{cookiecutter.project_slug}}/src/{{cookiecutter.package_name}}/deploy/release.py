"""The deploy pipeline's prepare step: which model to deploy, and each stage's configuration.

The model is the newest Approved package in main's model package group: pending and Rejected
packages never deploy, and with no Approved package (none yet, or the newest approval revoked
and no other left) nothing does. So rejecting the model in service and releasing this pipeline
rolls back to the newest model still approved (docs/deployment.md).

What each stage gets follows settings.INFERENCE: the endpoint and its monitoring
(infra/endpoint.yml, monitoring.yml), the batch scoring (infra/batch.yml), or both. For batch
scoring, prepare builds each stage's scoring pipeline pinned to the model (its archive, image,
code and baseline as the parameters' defaults; the stage's role, bucket and metrics) and
uploads the definition to the artifact bucket, under the claim's prefix, where the stage's
CloudFormation reads it (PipelineDefinitionKey).

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
# The parts of infra/stages/<stage>.json that infra/monitoring.yml and infra/batch.yml take.
MONITORING = "Monitoring"
BATCH = "Batch"


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


def approved_model(sagemaker_client, package: dict):
    """The scoring pipeline's view of a model package (pipeline/parameters.py, ApprovedModel)."""
    from ..pipeline.parameters import ApprovedModel

    described = sagemaker_client.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    try:
        return ApprovedModel.of(described)
    except (KeyError, ValueError) as error:
        raise ReleaseError(
            f"model package version {package['ModelPackageVersion']} lacks {error} that batch "
            "scoring needs: retrain it with this pipeline, or approve a newer version; nothing "
            "was deployed"
        ) from None


def batch_instance(stage: str) -> str:
    """The instance type a stage's scoring jobs run on (its stage file's Batch part)."""
    _, tuned = read_stage_file(settings.STAGES_DIR, stage)
    return tuned.get(BATCH, {}).get("InstanceType", settings.PROCESSING_INSTANCE_TYPE)


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


def scoring_root(config: settings.Settings, stage: str) -> str:
    """Where a stage's batches and their scores are: its bucket of this use case."""
    return f"s3://{config.capture_bucket(stage)}/{config.use_case}/scoring/{stage}"


def scoring_definition(config: settings.Settings, stage: str, model, instance_type: str) -> str:
    """The definition of `stage`'s scoring pipeline, pinned to `model` (an ApprovedModel).

    Built with the SageMaker SDK, which makes no request: the deploy build installs it.
    """
    import boto3

    from ..pipeline import scoring

    account = config.account_of(stage)
    pipeline = scoring.build(
        config,
        config.role_arn(account, "scoring_role"),
        scoring_root(config, stage),
        model,
        config.names["drift_metrics_namespace"],
        scoring.session(config, boto3.Session(region_name=config.region)),
        name=config.names[f"{stage}_scoring_pipeline"],
        instance_type=instance_type,
    )
    return pipeline.definition()


def definition_key(config: settings.Settings, package: dict, commit: str, stage: str) -> str:
    """Where the stage's scoring definition is uploaded, one per deployment (the stage accounts'
    CloudFormation may read <use-case>/deployments/scoring/)."""
    group, version = config.names["model_package_group"], package["ModelPackageVersion"]
    return f"{config.use_case}/deployments/scoring/{group}/{version}/{commit}/{stage}.json"


def configuration_names() -> list[str]:
    """The stage configurations prepare writes (<name>.json), as settings.INFERENCE asks."""
    parts = [""] * settings.DEPLOYS_ENDPOINT + ["-monitoring"] * settings.DEPLOYS_ENDPOINT
    parts += ["-batch"] * settings.DEPLOYS_SCORING
    return [f"{stage}{part}" for stage in naming.STAGES for part in parts]


def batch_configuration(
    config: settings.Settings,
    stage: str,
    package: dict,
    commit: str,
    stages_dir: Path,
    key: str,
) -> dict:
    """The template configuration of `stage` for infra/batch.yml.

    The stage file's "Batch" part holds what a team tunes (schedule, the batch's day, lateness,
    retraining on drift, and where this stack makes the topic, the alert e-mail); InstanceType
    goes into the definition instead. The rest is derived.
    """
    path, tuned = read_stage_file(stages_dir, stage)
    tuned_batch = {
        key: value for key, value in tuned.get(BATCH, {}).items() if key != "InstanceType"
    }
    account = config.account_of(stage)
    names = config.names
    derived = {
        "UseCase": config.use_case,
        "Stage": stage,
        "DevAccountId": config.dev_account_id,
        "PipelineName": names[f"{stage}_scoring_pipeline"],
        "PipelineDefinitionBucket": names["artifact_bucket"],
        "PipelineDefinitionKey": key,
        "ScoringRoleArn": config.role_arn(account, "scoring_role"),
        "StarterRoleArn": config.role_arn(account, "scoring_starter_role"),
        "ScheduleRoleArn": config.role_arn(account, "scoring_schedule_role"),
        "StarterFunctionName": names[f"{stage}_scoring_starter"],
        "ScheduleName": names[f"{stage}_scoring_schedule"],
        "EndpointKeyArn": _endpoint_key_arn(config, stage),
        "MetricsNamespace": names["drift_metrics_namespace"],
        "AlertTopicName": names[f"{stage}_alert_topic"],
        # With an endpoint, its monitoring stack makes the stage's topic (deployed before).
        "CreateAlertTopic": "false" if settings.DEPLOYS_ENDPOINT else "true",
        "FailedAlarmName": names[f"{stage}_scoring_failed_alarm"],
        "LateAlarmName": names[f"{stage}_scoring_late_alarm"],
        "DriftAlarmName": names[f"{stage}_scoring_drift_alarm"],
        "AlarmForwardingRoleArn": config.role_arn(account, "alarm_forwarding_role"),
        "AlarmForwardingRuleName": names[f"{stage}_scoring_drift_to_dev"],
    }
    return {
        "Parameters": _merged(path, tuned_batch, derived),
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
    """Pick the model, claim it, and write for every stage <output_dir>/<stage>.json (the
    endpoint) and <stage>-monitoring.json, or <stage>-batch.json (the batch scoring), or all
    three (settings.INFERENCE), after uploading each stage's scoring definition."""
    group = config.names["model_package_group"]
    sagemaker_client = boto_session.client("sagemaker")
    package = latest_approved(sagemaker_client, group)
    parts = monitored_parts(sagemaker_client, package)
    claim_commit = f"{commit}-redeploy-{build.rpartition(':')[2]}" if redeploy else commit
    configurations, definitions = {}, {}
    for stage in naming.STAGES:
        if settings.DEPLOYS_ENDPOINT:
            configurations[stage] = stage_configuration(
                config, stage, package, commit, settings.STAGES_DIR
            )
            configurations[f"{stage}-monitoring"] = monitoring_configuration(
                config, stage, package, parts, commit, settings.STAGES_DIR
            )
        if settings.DEPLOYS_SCORING:
            key = definition_key(config, package, claim_commit, stage)
            configurations[f"{stage}-batch"] = batch_configuration(
                config, stage, package, commit, settings.STAGES_DIR, key
            )
            definitions[key] = scoring_definition(
                config, stage, approved_model(sagemaker_client, package), batch_instance(stage)
            )
    s3_client = boto_session.client("s3")
    claim(s3_client, config, package, claim_commit, build)
    for key, definition in definitions.items():
        s3_client.put_object(
            Bucket=config.names["artifact_bucket"],
            Key=key,
            Body=definition.encode(),
            ExpectedBucketOwner=config.dev_account_id,
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, configuration in configurations.items():
        (output_dir / f"{name}.json").write_text(json.dumps(configuration, indent=2) + "\n")
    return package
