"""The pipeline command line against moto: upsert, start, wait, and its one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.pipeline import code

pytest.importorskip(
    "sagemaker", reason="the pipeline extra is not installed: pip install -e '.[pipeline]'"
)

from {{ cookiecutter.package_name }}.pipeline.__main__ import main, wait

PACKAGE = "{{ cookiecutter.package_name }}"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROLE_ARN = "arn:aws:iam::123456789012:role/pipeline-tests"


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
    assert tags == {"use-case": config.use_case, "branch": "main"}
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

    assert main(["start", "--wait", "--poll", "0", "--parameter", "QualityThreshold=0.5"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    executions = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in executions] == [execution_arn]


def test_start_before_upsert_says_what_to_do(mock_aws_account, capsys):
    assert main(["start"]) == 2
    assert "run upsert first" in error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["upsert", "--role-arn", "pipeline-role"], "is not an IAM role ARN"),
        (["upsert", "--role-arn", "arn:aws-cn:iam::123456789012:role/r"], "is in partition aws-cn"),
        (["start", "--parameter", "QualityThreshold"], "expected Name=Value"),
        (["definition", "--output", "missing-folder/pipeline.json"], "cannot write"),
        (["diagram", "--readme", "missing-README.md"], "missing-README.md"),
    ],
)
def test_bad_arguments_are_one_clear_line(mock_aws_account, capsys, argv, expected):
    assert main(argv) == 2
    assert expected in error_line(capsys)


def test_missing_sdk_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert main(["definition"]) == 2
    assert "pip install -e '.[pipeline]'" in error_line(capsys)


@pytest.mark.parametrize("argv", [["upsert", "--role-arn", ROLE_ARN], ["start"]])
def test_no_credentials_is_one_clear_line(no_aws_credentials, capsys, argv):
    assert main(argv) == 2
    line = error_line(capsys)
    assert line.startswith("pipeline: error: no AWS credentials") and "AWS_PROFILE" in line


def test_unknown_profile_is_one_clear_line(no_aws_credentials, monkeypatch, capsys):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    assert main(["start"]) == 2
    assert "no-such-profile" in error_line(capsys)


def test_role_with_a_path_is_accepted(mock_aws_account, capsys):
    assert main(["upsert", "--role-arn", "arn:aws:iam::123456789012:role/service-role/ml/r"]) == 0


def test_unknown_region_is_one_clear_line(no_aws_credentials, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "mars-north-1")
    assert main(["definition"]) == 2
    assert "AWS_REGION" in error_line(capsys)


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


def run_cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.pipeline", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli_environment(tmp_path, **extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != settings.ROLE_ARN_VARIABLE
    }
    return {
        **env,
        "PYTHONPATH": str(PROJECT_ROOT / "src"),
        "BRANCH_NAME": "dev",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # Whatever would leave this machine (the SDK's telemetry) meets a closed local port.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        **extra,
    }


def test_command_line_against_a_moto_server(moto_server, tmp_path):
    env = cli_environment(
        tmp_path,
        AWS_ENDPOINT_URL=moto_server,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    config = settings.load({"BRANCH_NAME": "dev"})
    upsert = run_cli("upsert", "--role-arn", ROLE_ARN, env=env)
    assert upsert.returncode == 0, upsert.stderr
    assert upsert.stdout.strip().endswith(f":pipeline/{config.names['pipeline_name']}")
    start = run_cli("start", "--wait", "--poll", "0", env=env)
    assert start.returncode == 0, start.stderr
    assert "execution succeeded" in start.stderr


def test_definition_command_needs_no_aws_account(tmp_path):
    """No credentials, no region, no endpoint: the project's own region is used."""
    output = tmp_path / "pipeline.json"
    result = run_cli("definition", "--output", str(output), env=cli_environment(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"pipeline: wrote {output}"
    built = json.loads(output.read_text())
    assert built["Version"] == "2020-12-01"
    assert [step["Name"] for step in built["Steps"]] == [
        "Preprocess",
        "Train",
        "Evaluate",
        "QualityGate",
    ]
    assert f".{settings.AWS_REGION}.amazonaws.com/" in output.read_text()
