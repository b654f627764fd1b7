"""infra/monitoring.yml and the retraining path, read as CloudFormation would create them.

The scheduled drift check's request is one that CreateProcessingJob accepts (botocore and moto
check it) and runs the monitor's own command; the alarms watch the metrics the check
publishes; prod's drift alarm, and nothing else, reaches the dev account and retrains main.
"""

import fnmatch
import importlib.util
import json
from datetime import UTC, datetime

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
from {{ cookiecutter.package_name }}.monitor.__main__ import argument_parser

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
# What release.monitored_parts reads from the deployed model package.
PARTS = {
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0",
    "CodeUri": "s3://bucket/use-case/main/code/0123abcd/src/",
    "BaselineUri": "s3://bucket/use-case/main/execution/baseline/baseline.json",
}
PACKAGE = {
    "ModelPackageArn": "arn:aws:sagemaker:us-east-1:111111111111:model-package/group/3",
    "ModelPackageVersion": 3,
}
# What EventBridge Scheduler puts in for its context attributes.
EXECUTION_ID, SCHEDULED_TIME = "d32c5kddcf5bb8c3", "2026-11-30T12:00:00Z"


def monitoring(stage: str, config: settings.Settings = CONFIG, **tuned: str) -> tuple[dict, dict]:
    """The resources of a stage's monitoring stack, and the parameters prepare gives it."""
    template = load("monitoring.yml")
    given = release.monitoring_configuration(
        config, stage, PACKAGE, PARTS, "0" * 40, settings.STAGES_DIR
    )["Parameters"]
    parameters = {
        **defaults(template),
        **given,
        **tuned,
        **pseudo_parameters(config.account_of(stage), config.region),
    }
    return created_resources(template, parameters), given


def cicd(config: settings.Settings = CONFIG) -> dict:
    template = load("cicd.yml")
    parameters = {
        **defaults(template),
        **stacks.cicd(config, "example-org/churn"),
        **pseudo_parameters(config.dev_account_id, config.region),
    }
    return created_resources(template, parameters)


def target_account(account: str) -> dict:
    template = load("target-account.yml")
    parameters = {
        **stacks.target_account(CONFIG, account),
        **pseudo_parameters(account, CONFIG.region),
    }
    return created_resources(template, parameters)


def scheduled_request(resources: dict) -> dict:
    """The CreateProcessingJob request of one run of the schedule."""
    text = resources["DriftCheckSchedule"]["Properties"]["Target"]["Input"]
    text = text.replace("<aws.scheduler.execution-id>", EXECUTION_ID)
    return json.loads(text.replace("<aws.scheduler.scheduled-time>", SCHEDULED_TIME))


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_monitoring_configurations_fit_the_template(stage):
    _, given = monitoring(stage)
    assert configuration_problems(load("monitoring.yml"), given) == []


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_the_schedule_starts_a_job_sagemaker_accepts_running_the_check(stage, mock_aws):
    resources, given = monitoring(stage)
    target = resources["DriftCheckSchedule"]["Properties"]["Target"]
    assert target["Arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
    account = CONFIG.account_of(stage)
    assert target["RoleArn"] == CONFIG.role_arn(account, "drift_schedule_role")
    request = scheduled_request(resources)
    sagemaker = boto3.client("sagemaker", region_name=CONFIG.region)
    sagemaker.create_processing_job(**request)  # botocore validates every field first
    job = sagemaker.describe_processing_job(ProcessingJobName=request["ProcessingJobName"])
    assert len(job["ProcessingJobName"]) <= 63
    assert job["RoleArn"] == CONFIG.role_arn(account, "drift_check_role")
    app = job["AppSpecification"]
    assert app["ImageUri"] == PARTS["ImageUri"]
    *_, module = app["ContainerEntrypoint"]
    assert importlib.util.find_spec(module) is not None
    args = argument_parser().parse_args(app["ContainerArguments"])
    assert args.command == "check" and args.capture == given["CaptureUri"]
    assert args.until == datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert args.hours == float(given["LookbackHours"])
    assert args.metrics_namespace == CONFIG.names["drift_metrics_namespace"]
    assert args.endpoint_name == CONFIG.names[f"{stage}_endpoint"]
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert inputs["code"]["S3Uri"] == PARTS["CodeUri"]
    assert request["Environment"]["PYTHONPATH"] == inputs["code"]["LocalPath"]  # moto omits it
    assert inputs["baseline"]["S3Uri"] == PARTS["BaselineUri"]
    assert str(args.baseline.parent) == inputs["baseline"]["LocalPath"]
    [report] = job["ProcessingOutputConfig"]["Outputs"]
    assert report["S3Output"]["LocalPath"] == str(args.output_dir)
    assert report["S3Output"]["S3Uri"] == f"{given['ReportsUri']}{SCHEDULED_TIME}/"


def test_alarms_watch_what_the_check_publishes_and_alert_the_topic():
    resources, given = monitoring("prod")
    result = drift.DriftResult(checks=[], rows=0, requests_unread=0)
    published = {
        datum["MetricName"]: [d["Name"] for d in datum["Dimensions"]]
        for datum in metrics.metric_data(result, ("EndpointName", "endpoint"), datetime.now(UTC))
    }
    topic = "AlertTopic"
    for name, metric in (("DriftAlarm", "DriftScore"), ("DriftCheckMissingAlarm", "RowsChecked")):
        alarm = resources[name]["Properties"]
        assert alarm["Namespace"] == given["MetricsNamespace"]
        assert alarm["MetricName"] == metric
        assert [d["Name"] for d in alarm["Dimensions"]] == published[metric]
        assert alarm["Dimensions"][0]["Value"] == given["EndpointName"]
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
    drift_alarm = resources["DriftAlarm"]["Properties"]
    assert (drift_alarm["Threshold"], drift_alarm["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert resources["DriftCheckMissingAlarm"]["Properties"]["TreatMissingData"] == "breaching"
    for name in ("ErrorsAlert", "LatencyAlert"):
        alarm = resources[name]["Properties"]
        assert alarm["Namespace"] == "AWS/SageMaker" and alarm["AlarmActions"] == [topic]
    assert resources[topic]["Properties"]["KmsMasterKeyId"] == given["EndpointKeyArn"]


def test_an_alert_email_subscribes_only_when_given():
    resources, _ = monitoring("prod")
    assert "AlertSubscription" not in resources
    resources, _ = monitoring("prod", AlertEmail="ml-oncall@example.com")
    subscription = resources["AlertSubscription"]["Properties"]
    assert subscription == {
        "TopicArn": "AlertTopic",
        "Protocol": "email",
        "Endpoint": "ml-oncall@example.com",
    }


def test_only_prods_drift_alarm_reaches_the_dev_account_and_retrains(mock_aws, monkeypatch):
    """moto decides nothing in test_event_pattern: deliver real-shaped events to queues, in
    the prod account (where the forwarding rule is) as events of the prod account."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", PROD)
    prod, _ = monitoring("prod")
    arn = f"arn:aws:cloudwatch:{CONFIG.region}:{PROD}:alarm:"
    drift_alarm = arn + CONFIG.names["prod_drift_alarm"]
    forwarding = prod["AlarmForwardingRule"]["Properties"]["EventPattern"]
    forwarding["resources"] = [drift_alarm]  # what !GetAtt DriftAlarm.Arn resolves to
    retraining = cicd()["RetrainOnDriftRule"]["Properties"]["EventPattern"]
    sent = [
        alarm_event(drift_alarm, "ALARM"),
        alarm_event(drift_alarm, "OK"),
        alarm_event(drift_alarm, "INSUFFICIENT_DATA"),
        alarm_event(arn + CONFIG.names["prod_errors_alert"], "ALARM"),
        alarm_event(arn + CONFIG.names["prod_drift_check_missing_alarm"], "ALARM"),
        alarm_event(arn + CONFIG.names["staging_drift_alarm"], "ALARM"),
    ]
    expected = [(CONFIG.names["prod_drift_alarm"], "ALARM")]
    assert delivered(forwarding, sent, CONFIG.region) == expected
    assert delivered(retraining, sent, CONFIG.region) == expected


def test_prod_forwards_to_the_dev_bus_which_lets_only_that_role_in():
    prod, given = monitoring("prod")
    [target] = prod["AlarmForwardingRule"]["Properties"]["Targets"]
    assert (
        target["Arn"] == f"arn:aws:events:{CONFIG.region}:{CONFIG.dev_account_id}:event-bus/default"
    )
    assert target["RoleArn"] == given["AlarmForwardingRoleArn"]
    assert given["AlarmForwardingRoleArn"] == CONFIG.role_arn(PROD, "alarm_forwarding_role")
    policy = cicd()["DriftEventsFromProd"]["Properties"]
    assert policy["EventBusName"] == "default"
    statement = policy["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PROD}:root"}
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": target["RoleArn"]}}
    forwarding_role = target_account(PROD)["AlarmForwardingRole"]["Properties"]
    [granted] = forwarding_role["Policies"][0]["PolicyDocument"]["Statement"]
    assert granted["Resource"] == target["Arn"]


def test_staging_and_one_account_forward_nothing():
    staging, _ = monitoring("staging")
    assert "AlarmForwardingRule" not in staging
    one_account_prod, _ = monitoring("prod", ONE_ACCOUNT)
    assert "AlarmForwardingRule" not in one_account_prod  # the alarm is on the dev bus already
    assert "DriftEventsFromProd" not in cicd(ONE_ACCOUNT)


def test_retraining_runs_mains_train_pipeline_and_the_schedule_is_off_by_default():
    resources = cicd()
    train = f":codepipeline:{CONFIG.region}:{CONFIG.dev_account_id}:"
    train += CONFIG.names["train_codepipeline"]
    for rule in ("RetrainOnDriftRule", "RetrainScheduleRule"):
        [target] = resources[rule]["Properties"]["Targets"]
        assert target["Arn"].endswith(train) and target["RoleArn"] == "EventsRole.Arn"
    assert resources["RetrainScheduleRule"]["Properties"]["State"] == "DISABLED"
    started = resources["EventsRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert any(
        resource.endswith(train)
        for statement in started["Statement"]
        for resource in statement["Resource"]
        if isinstance(statement["Resource"], list)
    )


def test_the_drift_check_role_reads_and_writes_where_the_job_does():
    _, given = monitoring("prod")
    statements = {
        statement["Sid"]: statement
        for statement in target_account(PROD)["DriftCheckRole"]["Properties"]["Policies"][0][
            "PolicyDocument"
        ]["Statement"]
    }

    def arn(uri: str) -> str:
        return "arn:aws:s3:::" + uri.removeprefix("s3://")

    assert fnmatch.fnmatch(
        arn(given["CaptureUri"] + "2026/11/30/12/f.jsonl"), statements["ReadTheCapture"]["Resource"]
    )
    assert fnmatch.fnmatch(
        arn(given["ReportsUri"] + f"{SCHEDULED_TIME}/drift.json"),
        statements["WriteTheReports"]["Resource"],
    )
    namespace = statements["PublishTheDriftMetrics"]["Condition"]["StringEquals"]
    assert namespace["cloudwatch:namespace"] == given["MetricsNamespace"]
