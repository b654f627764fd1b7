"""The pipeline command line against moto, in process: upsert, start, wait, one-line errors.

(test_pipeline_definition.py runs the command as a fresh process with no AWS configuration.)
"""

import json

import boto3
import pytest
from botocore.stub import Stubber
from conftest import TEST_ENVIRONMENT, require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.pipeline import code, diagram, parameters
from {{ cookiecutter.package_name }}.pipeline.__main__ import (
    CommandError,
    check_bucket,
    latest_data_uri,
    main,
    role_arn,
    wait,
)

require_sdk()
pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")

PACKAGE = "{{ cookiecutter.package_name }}"
ROLE_ARN = f"arn:aws:iam::{settings.DEV_ACCOUNT_ID}:role/pipeline-tests"


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_upsert_creates_then_updates_and_start_runs(mock_aws_account, monkeypatch, capsys):
    config = mock_aws_account
    sagemaker = boto3.client("sagemaker", region_name=config.region)
    name = config.names["pipeline_name"]

    assert main(["upsert", "--role-arn", ROLE_ARN]) == 0
    arn = capsys.readouterr().out.strip()
    created = sagemaker.describe_pipeline(PipelineName=name)
    assert created["PipelineArn"] == arn and created["RoleArn"] == ROLE_ARN
    assert json.loads(created["PipelineDefinition"])["Steps"][0]["Name"] == "Preprocess"
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == config.tags and tags["use-case"] == config.use_case
    group = sagemaker.describe_model_package_group(
        ModelPackageGroupName=config.names["model_package_group"]
    )
    assert group["ModelPackageGroupName"] == config.names["model_package_group"]

    # The code the definition points at is in S3: the package's own entry points.
    bundle = code.collect()
    bucket = config.names["artifact_bucket"]
    prefix = bundle.files_uri(config.branch_root).removeprefix(f"s3://{bucket}/")
    keys = {
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    }
    assert f"{prefix}{PACKAGE}/train/__main__.py" in keys
    assert f"{prefix}{PACKAGE}/data/__main__.py" in keys

    assert main(["upsert"]) == 2  # no role: refused before anything changes
    assert "--role-arn" in error_line(capsys)
    monkeypatch.setenv(settings.ROLE_ARN_VARIABLE, f"{ROLE_ARN}-2")
    assert main(["upsert"]) == 0  # an update of the same pipeline, role from the environment
    assert sagemaker.describe_pipeline(PipelineName=name)["RoleArn"] == f"{ROLE_ARN}-2"
    updated = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert updated == tags
    assert sagemaker.list_pipelines()["PipelineSummaries"][0]["PipelineName"] == name
    assert len(sagemaker.list_pipelines()["PipelineSummaries"]) == 1
    capsys.readouterr()

    assert main(["start", "--wait", "--poll", "0.01", "--parameter", "QualityThreshold=0.5"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    executions = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in executions] == [execution_arn]


def test_latest_data_is_the_newest_folder_of_the_input_data(mock_aws_account, monkeypatch, capsys):
    config = mock_aws_account
    s3 = boto3.client("s3", region_name=config.region)
    bucket, _, prefix = config.input_data_uri.removeprefix("s3://").partition("/")
    assert latest_data_uri(s3, config) == config.input_data_uri  # no data yet: the prefix
    s3.put_object(Bucket=bucket, Key=f"{prefix}loose.csv", Body=b"a")
    assert latest_data_uri(s3, config) == config.input_data_uri  # files only: the prefix
    for folder in ("2026-11-20", "2026-11-01", "2026-09-30"):
        s3.put_object(Bucket=bucket, Key=f"{prefix}{folder}/part.csv", Body=b"a")
    assert latest_data_uri(s3, config) == f"{config.input_data_uri}2026-11-20/"
    # start --latest-data passes that folder to the execution, and refuses a second choice.
    monkeypatch.setenv(settings.ROLE_ARN_VARIABLE, ROLE_ARN)
    assert main(["upsert"]) == 0
    capsys.readouterr()
    given = ["--parameter", f"InputDataUri={config.input_data_uri}"]
    assert main(["start", "--latest-data", *given]) == 2
    assert "drop one of the two" in error_line(capsys)
    assert main(["start", "--latest-data"]) == 0
    execution = capsys.readouterr().out.strip()
    parameters = boto3.client("sagemaker", region_name=config.region)
    listed = parameters.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)
    expected = {"Name": "InputDataUri", "Value": f"{config.input_data_uri}2026-11-20/"}
    assert expected in listed["PipelineParameters"]


def test_start_before_upsert_says_what_to_do(mock_aws_account, capsys):
    assert main(["start"]) == 2
    assert "run upsert first" in error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["upsert", "--role-arn", "pipeline-role"], "is not an IAM role ARN"),
        (["upsert", "--role-arn", "arn:aws-cn:iam::123456789012:role/r"], "is in partition aws-cn"),
        (["upsert", "--role-arn", "arn:aws:iam::999999999999:role/r"], "in account 999999999999"),
        (["start", "--parameter", "QualityThreshold"], "expected Name=Value"),
    ],
)
def test_bad_arguments_are_one_clear_line(mock_aws_account, capsys, argv, expected):
    assert main(argv) == 2
    assert expected in error_line(capsys)


class TwoStepPipeline:
    """Stands in for the built pipeline where only the command's file handling is tested."""

    @staticmethod
    def definition() -> str:
        steps = [
            {"Name": "A", "Type": "Processing"},
            {"Name": "B", "Type": "Training", "DependsOn": ["A"]},
        ]
        return json.dumps({"Steps": steps})


def test_diagram_leaves_an_up_to_date_readme_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        "{{ cookiecutter.package_name }}.pipeline.__main__.build_offline",
        lambda *_: TwoStepPipeline(),
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"{diagram.BEGIN}\n{diagram.END}\n")
    assert main(["diagram", "--readme", str(readme)]) == 0
    assert f"wrote {readme}" in capsys.readouterr().err
    written = readme.stat().st_mtime_ns
    assert main(["diagram", "--readme", str(readme)]) == 0
    assert "is up to date" in capsys.readouterr().err
    assert readme.stat().st_mtime_ns == written


def test_missing_sdk_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert main(["definition"]) == 2
    assert "make setup EXTRAS=dev,pipeline" in error_line(capsys)


@pytest.mark.parametrize("argv", [["upsert", "--role-arn", ROLE_ARN], ["start"]])
def test_no_credentials_is_one_clear_line(no_aws_credentials, capsys, argv):
    assert main(argv) == 2
    line = error_line(capsys)
    assert line.startswith("pipeline: error: no AWS credentials") and "AWS_PROFILE" in line


def test_unknown_profile_is_one_clear_line(no_aws_credentials, monkeypatch, capsys):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    assert main(["start"]) == 2
    assert "no-such-profile" in error_line(capsys)


def test_role_with_a_path_is_accepted():
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    arn = f"arn:aws:iam::{settings.DEV_ACCOUNT_ID}:role/service-role/ml/r"
    assert role_arn(arn, config, required=True) == arn


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_unknown_region_names_its_variable(no_aws_credentials, monkeypatch, capsys, variable):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv(variable, "mars-1")
    assert main(["definition"]) == 2
    assert f"(from {variable}) is not an AWS region code; set {variable}" in error_line(capsys)


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ("Threshold=0.5", "'Threshold' is not a parameter; the pipeline has InputDataUri"),
        ("QualityThreshold=-1", "QualityThreshold: quality threshold '-1': expected a number"),
        ("QualityThreshold=nan", "expected a number from 0 to 1"),
        ("TrainingInstanceCount=two", "TrainingInstanceCount: 'two' is not a whole number"),
        ("TrainingInstanceType=m5.large", "is not a SageMaker instance type"),
        ("InputDataUri=/data/train.csv", "is not an S3 URI"),
        ("ModelApprovalStatus=Pending", "is not one of PendingManualApproval"),
    ],
)
def test_start_checks_parameters_before_aws(no_aws_credentials, capsys, parameter, expected):
    assert main(["start", "--parameter", parameter]) == 2  # no credentials were needed to refuse
    assert expected in error_line(capsys)


def test_only_a_framework_that_trains_across_instances_takes_more_than_one(
    no_aws_credentials, capsys
):
    if settings.MODEL_FRAMEWORK == "sklearn":  # it fits on one machine: more would repeat it
        assert main(["start", "--parameter", "TrainingInstanceCount=2"]) == 2
        assert error_line(capsys) == (
            "pipeline: error: --parameter TrainingInstanceCount: 2 instances: scikit-learn trains "
            "on one, and more would only repeat its fit; choose a larger TrainingInstanceType "
            "instead"
        )
    else:
        parameters.check("TrainingInstanceCount", "2", settings.load())


def test_credentials_of_another_account_change_nothing(mock_aws_account, monkeypatch, capsys):
    config = mock_aws_account
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    assert main(["upsert", "--role-arn", ROLE_ARN]) == 2
    line = error_line(capsys)
    assert "credentials are for account 999999999999" in line and config.dev_account_id in line
    monkeypatch.setenv("MOTO_ACCOUNT_ID", config.dev_account_id)
    sagemaker = boto3.client("sagemaker", region_name=config.region)
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []
    assert sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    listing = boto3.client("s3").list_objects_v2(Bucket=config.names["artifact_bucket"])
    assert listing["KeyCount"] == 0


def test_seed_code_touches_aws_only_as_its_sagemaker_project(mock_aws_account, monkeypatch, capsys):
    """SageMaker Projects seed code: the rendered names are placeholders every project shares."""
    monkeypatch.setattr(settings, "SAGEMAKER_PROJECTS", True)
    for variable in ("SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["upsert", "--role-arn", ROLE_ARN]) == 2
    assert "set SAGEMAKER_PROJECT_NAME and SAGEMAKER_PROJECT_ID" in error_line(capsys)
    sagemaker = boto3.client("sagemaker", region_name=mock_aws_account.region)
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []
    monkeypatch.setenv("SAGEMAKER_PROJECT_NAME", "Churn")
    monkeypatch.setenv("SAGEMAKER_PROJECT_ID", "p-abcdefghijkl")
    assert main(["upsert", "--role-arn", ROLE_ARN]) == 2  # past the guard, to the bucket check
    assert "artifact bucket churn-p-abcdefghijkl-ml-" in error_line(capsys)


def test_missing_bucket_is_named_with_the_fix(mock_aws, capsys):
    assert main(["upsert", "--role-arn", ROLE_ARN]) == 2
    line = error_line(capsys)
    bucket = mock_aws.names["artifact_bucket"]
    assert f"artifact bucket {bucket} does not exist" in line and "ARTIFACT_BUCKET" in line


def test_a_bucket_of_another_account_is_refused():
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        expected = {
            "Bucket": config.names["artifact_bucket"],
            "ExpectedBucketOwner": config.dev_account_id,
        }
        stubber.add_client_error("head_bucket", http_status_code=403, expected_params=expected)
        with pytest.raises(CommandError, match="is not the dev account's"):
            check_bucket(client, config)


def test_code_upload_names_the_expected_bucket_owner(mock_aws_account):
    config = mock_aws_account
    s3 = boto3.client("s3", region_name=config.region)
    owners = []
    s3.meta.events.register(
        "provide-client-params.s3.*",
        lambda params, model, **_: owners.append((model.name, params.get("ExpectedBucketOwner"))),
    )
    assert code.publish(code.collect(), config.branch_root, s3, config.dev_account_id)
    assert {name for name, _ in owners} == {"ListObjectsV2", "PutObject"}
    assert {owner for _, owner in owners} == {config.dev_account_id}


def stubbed_client(responses):
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    for method, response in responses:
        stubber.add_response(method, response)
    stubber.activate()
    return client


EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc"


def test_wait_reports_the_failed_step_and_its_reason(capsys):
    client = stubbed_client(
        [
            ("describe_pipeline_execution", {"PipelineExecutionStatus": "Executing"}),
            ("describe_pipeline_execution", {"PipelineExecutionStatus": "Failed"}),
            (
                "list_pipeline_execution_steps",
                {
                    "PipelineExecutionSteps": [
                        {"StepName": "Preprocess", "StepStatus": "Succeeded"},
                        {
                            "StepName": "QualityGateFailed",
                            "StepStatus": "Failed",
                            "Metadata": {"Fail": {"ErrorMessage": "auc 0.61 is below 0.9"}},
                        },
                        {"StepName": "Backfill", "StepStatus": "Failed", "FailureReason": "quota"},
                    ]
                },
            ),
        ]
    )
    assert wait(client, EXECUTION, timeout=60, poll=0) == 1
    err = capsys.readouterr().err
    assert "step QualityGateFailed failed: auc 0.61 is below 0.9" in err
    assert "step Backfill failed: quota" in err


def test_wait_gives_up_after_the_timeout(capsys):
    client = stubbed_client(
        [("describe_pipeline_execution", {"PipelineExecutionStatus": "Executing"})] * 2
    )
    ticks = iter([0, 5, 11])
    assert (
        wait(client, EXECUTION, timeout=10, poll=5, clock=lambda: next(ticks), sleep=lambda _: None)
        == 1
    )
    assert "still Executing after 10 s" in capsys.readouterr().err


def test_stopped_execution_fails_too(capsys):
    client = stubbed_client(
        [
            ("describe_pipeline_execution", {"PipelineExecutionStatus": "Stopped"}),
            ("list_pipeline_execution_steps", {"PipelineExecutionSteps": []}),
        ]
    )
    assert wait(client, EXECUTION, timeout=10, poll=0) == 1
    assert "execution stopped" in capsys.readouterr().err
