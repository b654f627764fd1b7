"""infra/batch.yml, read as CloudFormation would create it: each stage's batch scoring.

The pipeline is the definition the prepare step uploaded; the schedule's function starts it on
the scheduled day's batch (run against moto); the alarms watch what SageMaker Pipelines and the
DriftCheck step publish and alert the stage's topic; prod's drift alarm, and nothing else of
the batch, reaches the dev account and retrains main; the roles reach what the jobs use.
"""

import fnmatch
import json
import types

import boto3
import pytest
from cfn_templates import (
    alarm_event,
    configuration_problems,
    created_resources,
    defaults,
    delivered,
    load,
    pseudo_parameters,
)

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.deploy import release, stacks
from {{ cookiecutter.package_name }}.monitor import drift, metrics

STAGING, PROD = "222222222222", "333333333333"
CONFIG = settings.load(
    {"BRANCH_NAME": "main", "STAGING_ACCOUNT_ID": STAGING, "PROD_ACCOUNT_ID": PROD}
)
ONE_ACCOUNT = settings.load(
    {
        "BRANCH_NAME": "main",
        "STAGING_ACCOUNT_ID": CONFIG.dev_account_id,
        "PROD_ACCOUNT_ID": CONFIG.dev_account_id,
    }
)
PACKAGE = {
    "ModelPackageArn": "arn:aws:sagemaker:us-east-1:111111111111:model-package/group/3",
    "ModelPackageVersion": 3,
}
PIPELINES_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"


def batch(stage: str, config: settings.Settings = CONFIG, **tuned: str) -> tuple[dict, dict]:
    """The resources of a stage's batch stack, and the parameters prepare gives it."""
    template = load("batch.yml")
    key = release.definition_key(config, PACKAGE, "0" * 40, stage)
    given = release.batch_configuration(config, stage, PACKAGE, "0" * 40, settings.STAGES_DIR, key)[
        "Parameters"
    ]
    parameters = {
        **defaults(template),
        **given,
        **tuned,
        **pseudo_parameters(config.account_of(stage), config.region),
    }
    return created_resources(template, parameters), given


def created(name: str, account: str, parameters: dict, config: settings.Settings = CONFIG) -> dict:
    template = load(name)
    pseudo = pseudo_parameters(account, config.region)
    return created_resources(template, {**defaults(template), **parameters, **pseudo})


def cicd(config: settings.Settings = CONFIG) -> dict:
    return created("cicd.yml", config.dev_account_id, stacks.cicd(config, "example-org/churn"))


def target_account(account: str) -> dict:
    return created("target-account.yml", account, stacks.target_account(CONFIG, account))


def statements(role: dict) -> dict[str, dict]:
    return {
        statement["Sid"]: statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    }


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_batch_configurations_fit_the_template(stage):
    _, given = batch(stage)
    assert configuration_problems(load("batch.yml"), given) == []


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_the_pipeline_is_the_definition_prepare_uploaded_running_as_the_scoring_role(stage):
    resources, _ = batch(stage)
    pipeline = resources["ScoringPipeline"]["Properties"]
    assert pipeline["PipelineName"] == CONFIG.names[f"{stage}_scoring_pipeline"]
    location = pipeline["PipelineDefinition"]["PipelineDefinitionS3Location"]
    assert location == {
        "Bucket": CONFIG.names["artifact_bucket"],
        "Key": release.definition_key(CONFIG, PACKAGE, "0" * 40, stage),
    }
    assert pipeline["RoleArn"] == CONFIG.role_arn(CONFIG.account_of(stage), "scoring_role")
    # The stage's CloudFormation may read it: the bucket's policy and its own role.
    bucket_policy = cicd()["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [reads] = [s for s in bucket_policy if s.get("Sid") == "StageStacksReadScoringDefinitions"]
    key_arn = f"arn:aws:s3:::{location['Bucket']}/{location['Key']}"
    assert fnmatch.fnmatch(
        key_arn,
        reads["Resource"].replace("ArtifactBucket.Arn", "arn:aws:s3:::" + location["Bucket"]),
    )
    cfn_role = statements(target_account(CONFIG.account_of(stage))["CfnExecutionRole"])
    assert fnmatch.fnmatch(key_arn, cfn_role["ReadTheScoringDefinitions"]["Resource"])


def starter(resources: dict) -> types.ModuleType:
    """The starter function's code, as Lambda would load it (index.py)."""
    module = types.ModuleType("index")
    exec(resources["StarterFunction"]["Properties"]["Code"]["ZipFile"], module.__dict__)
    return module


@pytest.mark.parametrize(("offset", "day"), [("0", "2026-12-06"), ("-1", "2026-12-05")])
def test_each_scheduled_run_starts_the_pipeline_on_its_days_batch(
    mock_aws, monkeypatch, offset, day
):
    resources, given = batch("prod", BatchDayOffset=offset)
    function = resources["StarterFunction"]["Properties"]
    schedule = resources["Schedule"]["Properties"]
    assert schedule["Target"]["Arn"] == "StarterFunction.Arn"
    assert schedule["Target"]["RoleArn"] == given["ScheduleRoleArn"]
    # What EventBridge Scheduler sends the function for the run of 02:00 on 6 December.
    event = json.loads(
        schedule["Target"]["Input"].replace(
            "<aws.scheduler.scheduled-time>", "2026-12-06T02:00:00Z"
        )
    )
    for name, value in function["Environment"]["Variables"].items():
        monkeypatch.setenv(name, str(value))
    sagemaker = boto3.client("sagemaker", region_name=CONFIG.region)
    sagemaker.create_pipeline(
        PipelineName=given["PipelineName"],
        PipelineDefinition="{}",
        RoleArn=given["ScoringRoleArn"],
    )
    started = starter(resources).handler(event, None, sagemaker)
    assert started["BatchDate"] == day
    [execution] = sagemaker.list_pipeline_executions(PipelineName=given["PipelineName"])[
        "PipelineExecutionSummaries"
    ]
    assert execution["PipelineExecutionArn"] == started["PipelineExecutionArn"]
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=started["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert parameters == [{"Name": "BatchDate", "Value": day}]


def test_a_retried_delivery_of_a_run_asks_to_start_nothing_new():
    """The schedule retries a delivery; SageMaker starts one execution per request token."""
    resources, _ = batch("prod")
    requests = []

    class Recorder:
        def start_pipeline_execution(self, **request):
            requests.append(request)
            return {"PipelineExecutionArn": "arn"}

    module = starter(resources)
    event = {"scheduled_time": "2026-12-06T02:00:00Z"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_NAME", "scoring")
        patch.setenv("BATCH_DAY_OFFSET", "0")
        module.handler(event, None, Recorder())
        module.handler(event, None, Recorder())
        module.handler({"scheduled_time": "2026-12-07T02:00:00Z"}, None, Recorder())
    tokens = [request["ClientRequestToken"] for request in requests]
    assert tokens[0] == tokens[1] != tokens[2]
    assert all(32 <= len(token) <= 128 for token in tokens)


@pytest.mark.parametrize("makes_the_topic", ["true", "false"])
def test_alarms_watch_failures_lateness_and_drift_and_alert_the_stages_topic(makes_the_topic):
    resources, given = batch("prod", CreateAlertTopic=makes_the_topic)
    topic = given["AlertTopicName"]
    assert topic == CONFIG.names["prod_alert_topic"]  # the endpoint's monitoring stack's too
    expected = (
        "AlertTopic"
        if makes_the_topic == "true"
        else (f"arn:aws:sns:{CONFIG.region}:{PROD}:{topic}")
    )
    assert ("AlertTopic" in resources) == (makes_the_topic == "true")
    pipeline = {"Name": "PipelineName", "Value": given["PipelineName"]}
    failed, late = resources["FailedAlarm"]["Properties"], resources["LateAlarm"]["Properties"]
    assert (failed["Namespace"], failed["MetricName"]) == (PIPELINES_NAMESPACE, "ExecutionFailed")
    assert (late["Namespace"], late["MetricName"]) == (PIPELINES_NAMESPACE, "ExecutionSucceeded")
    assert failed["Dimensions"] == late["Dimensions"] == [pipeline]
    assert failed["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # No success for LateAfterHours hours in a row, and no data is no success.
    assert late["Period"] * int(late["EvaluationPeriods"]) == int(given["LateAfterHours"]) * 3600
    assert (late["ComparisonOperator"], late["TreatMissingData"]) == (
        "LessThanThreshold",
        "breaching",
    )
    # The drift alarm watches what DriftCheck publishes under the pipeline's name.
    result = drift.DriftResult(checks=[], rows=0, requests_unread=0)
    published = metrics.metric_data(result, ("PipelineName", given["PipelineName"]), None)
    [score] = [datum for datum in published if datum["MetricName"] == "DriftScore"]
    drift_alarm = resources["DriftAlarm"]["Properties"]
    assert drift_alarm["Namespace"] == given["MetricsNamespace"]
    assert drift_alarm["MetricName"] == "DriftScore"
    assert drift_alarm["Dimensions"] == score["Dimensions"]
    for alarm in (failed, late, drift_alarm):
        assert alarm["AlarmActions"] == [expected]


def test_the_stacks_topic_is_made_only_without_an_endpoint():
    _, given = batch("staging")
    assert given["CreateAlertTopic"] == ("false" if settings.DEPLOYS_ENDPOINT else "true")
    resources, _ = batch("staging", CreateAlertTopic="true", AlertEmail="ml-oncall@example.com")
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == given["EndpointKeyArn"]
    assert resources["AlertSubscription"]["Properties"]["Endpoint"] == "ml-oncall@example.com"


def test_prods_batch_drift_alarm_reaches_the_dev_account_and_retrains(mock_aws, monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", PROD)
    prod, given = batch("prod")
    assert given["RetrainOnDrift"] == "true"
    arn = f"arn:aws:cloudwatch:{CONFIG.region}:{PROD}:alarm:"
    drift_alarm = arn + CONFIG.names["prod_scoring_drift_alarm"]
    forwarding = prod["AlarmForwardingRule"]["Properties"]
    [target] = forwarding["Targets"]
    assert target["RoleArn"] == CONFIG.role_arn(PROD, "alarm_forwarding_role")
    pattern = {**forwarding["EventPattern"], "resources": [drift_alarm]}  # !GetAtt DriftAlarm.Arn
    retraining = cicd()["RetrainOnDriftRule"]["Properties"]["EventPattern"]
    sent = [
        alarm_event(drift_alarm, "ALARM"),
        alarm_event(drift_alarm, "OK"),
        alarm_event(arn + CONFIG.names["prod_scoring_failed_alarm"], "ALARM"),
        alarm_event(arn + CONFIG.names["prod_scoring_late_alarm"], "ALARM"),
        alarm_event(arn + CONFIG.names["staging_scoring_drift_alarm"], "ALARM"),
    ]
    expected = [(CONFIG.names["prod_scoring_drift_alarm"], "ALARM")]
    assert delivered(pattern, sent, CONFIG.region) == expected
    assert delivered(retraining, sent, CONFIG.region) == expected


def test_staging_and_one_account_forward_nothing():
    assert "AlarmForwardingRule" not in batch("staging")[0]
    assert "AlarmForwardingRule" not in batch("prod", ONE_ACCOUNT)[0]


def test_the_roles_reach_what_the_jobs_the_function_and_the_schedule_use():
    resources, given = batch("prod")
    roles = target_account(PROD)
    scoring = statements(roles["ScoringRole"])
    root = release.scoring_root(CONFIG, "prod").replace("s3://", "arn:aws:s3:::")
    for key in ("input/2026-12-06/part.csv", "output/2026-12-06/exec/predictions/part.csv"):
        assert fnmatch.fnmatch(f"{root}/{key}", scoring["ReadTheBatchesWriteTheScores"]["Resource"])
    namespace = scoring["PublishTheDriftMetrics"]["Condition"]["StringEquals"]
    assert namespace["cloudwatch:namespace"] == given["MetricsNamespace"]
    pipeline_arn = f"arn:aws:sagemaker:{CONFIG.region}:{PROD}:pipeline/{given['PipelineName']}"
    starts = statements(roles["ScoringStarterRole"])["StartTheScoringPipelines"]
    assert starts["Action"] == "sagemaker:StartPipelineExecution"
    assert pipeline_arn in starts["Resource"]
    function_arn = f"arn:aws:lambda:{CONFIG.region}:{PROD}:function:"
    function_arn += resources["StarterFunction"]["Properties"]["FunctionName"]
    assert function_arn in statements(roles["ScoringScheduleRole"])["CallTheStarter"]["Resource"]
    for role, arn in (
        ("ScoringRole", given["ScoringRoleArn"]),
        ("ScoringStarterRole", given["StarterRoleArn"]),
        ("ScoringScheduleRole", given["ScheduleRoleArn"]),
    ):
        assert arn.endswith(f":role/{roles[role]['Properties']['RoleName']}")
