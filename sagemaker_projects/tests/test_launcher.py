"""launcher.py, from launcher.zip as Lambda runs it: each answer reaches CloudFormation's URL.

CloudWatch Logs runs on moto; CodeBuild and CodeCommit take botocore's Stubber, which checks
the exact parameters sent and serves the build states a test needs (moto's builds never run).
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

STACK_ID = "arn:aws:cloudformation:us-east-1:111111111111:stack/SP-churn/1"
PROJECT = {
    "ProjectName": "Churn",
    "ProjectId": "p-abcdefghijkl",
    "DevAccountId": "111111111111",
    "StagingAccountId": "222222222222",
    "ProdAccountId": "333333333333",
}
BUILD_ID = "p-abcdefghijkl-seed:0000"
LOG = {"groupName": "/aws/codebuild/p-abcdefghijkl-seed", "streamName": "0000", "deepLink": "https://log"}


@pytest.fixture
def cloudformation():
    """CloudFormation's side: an HTTP server that keeps each response PUT to its URL."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"content_type": self.headers.get("Content-Type"), **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/response", received
    server.shutdown()


class Context:
    """Lambda's context: how long the invocation has left."""

    def __init__(self, remaining_milliseconds: int = 900_000):
        self.remaining = remaining_milliseconds

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining


def invoke(launcher, cloudformation, kind, request="Create", context=None, **properties) -> dict:
    url, received = cloudformation
    event = {
        "RequestType": request,
        "ResourceType": kind,
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": "request-1",
        "LogicalResourceId": "Resource",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:x", **properties},
    }
    if request != "Create":
        event["PhysicalResourceId"] = "kept-id"
    launcher.handler(event, context or Context())
    [response] = received
    assert response["content_type"] == ""  # what the presigned URL is signed for
    assert (response["StackId"], response["RequestId"], response["LogicalResourceId"]) == (
        STACK_ID,
        "request-1",
        "Resource",
    )
    return response


def cli_parameters(extracted, stack: str, **environment) -> dict[str, str]:
    """What the seed's own `deploy stack-parameters` prints, run from the seed as a user would."""
    source = extracted("github", "seed.zip")
    [package] = [path.name for path in (source / "src").iterdir()]
    arguments = ["--repository", "acme/churn"] if stack == "cicd" else ["--account", environment["account"]]
    variables = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(source / "src"),
        "AWS_REGION": "us-east-1",
        "SAGEMAKER_PROJECT_NAME": PROJECT["ProjectName"],
        "SAGEMAKER_PROJECT_ID": PROJECT["ProjectId"],
        "DEV_ACCOUNT_ID": PROJECT["DevAccountId"],
        "STAGING_ACCOUNT_ID": PROJECT["StagingAccountId"],
        "PROD_ACCOUNT_ID": PROJECT["ProdAccountId"],
    }
    command = [sys.executable, "-m", f"{package}.deploy", "stack-parameters", stack, *arguments]
    result = subprocess.run(command, cwd=source, env=variables, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return dict(pair.split("=", 1) for pair in result.stdout.split())


def test_cicd_parameters_are_what_the_seeds_own_command_prints(launcher, cloudformation, extracted):
    response = invoke(
        launcher, cloudformation, "Custom::StackParameters", Stack="cicd", RepositoryId="acme/churn", **PROJECT
    )
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == "p-abcdefghijkl-cicd"
    assert response["Data"] == cli_parameters(extracted, "cicd")
    assert response["Data"]["ArtifactBucketName"] == "churn-p-abcdefghijkl-ml-111111111111-us-east-1"
    assert (response["Data"]["SageMakerProjectName"], response["Data"]["SageMakerProjectId"]) == (
        "Churn",
        "p-abcdefghijkl",
    )


def test_target_account_parameters_serve_both_stage_accounts(launcher, cloudformation, extracted):
    response = invoke(launcher, cloudformation, "Custom::StackParameters", Stack="target-account", **PROJECT)
    assert response["Status"] == "SUCCESS", response["Reason"]
    data = response["Data"]
    staging = cli_parameters(extracted, "target-account", account="222222222222")
    prod = cli_parameters(extracted, "target-account", account="333333333333")
    assert {key: value for key, value in data.items() if key not in launcher.STACKSET_EXTRAS} == staging
    assert data["ProdCaptureBucketName"] == prod["CaptureBucketName"] != staging["CaptureBucketName"]
    assert {k: v for k, v in staging.items() if k != "CaptureBucketName"} == {
        k: v for k, v in prod.items() if k != "CaptureBucketName"
    }
    assert data["StackSetName"] == "churn-p-abcdefghijkl-target-account"


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-5", "eusc-de-east-1"])
def test_names_fit_at_the_longest_project_name_and_id(launcher, cloudformation, monkeypatch, region):
    monkeypatch.setenv("AWS_REGION", region)
    longest = {**PROJECT, "ProjectName": "A" + "b" * 31, "ProjectId": "p" * 20}
    for stack in ("cicd", "target-account"):
        cloudformation[1].clear()
        response = invoke(
            launcher, cloudformation, "Custom::StackParameters", Stack=stack, RepositoryId="a/b", **longest
        )
        assert response["Status"] == "SUCCESS", response["Reason"]  # settings refuses a name too long
        assert all("p" * 20 in value for key, value in response["Data"].items() if key.endswith("RoleName"))


def test_a_project_name_aws_would_refuse_fails_the_stack_in_one_line(launcher, cloudformation):
    response = invoke(
        launcher,
        cloudformation,
        "Custom::StackParameters",
        Stack="cicd",
        RepositoryId="a/b",
        **{**PROJECT, "ProjectName": "x" * 33},
    )
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("SettingsError: SageMaker project name 'xxx")
    assert "over AWS's limit of 32" in response["Reason"] and "\n" not in response["Reason"]


def test_deleting_parameters_keeps_the_id_and_touches_nothing(launcher, cloudformation):
    response = invoke(launcher, cloudformation, "Custom::StackParameters", "Delete", Stack="cicd", **PROJECT)
    assert (response["Status"], response["PhysicalResourceId"], response["Data"]) == ("SUCCESS", "kept-id", {})


@pytest.fixture
def aws(launcher, monkeypatch):
    """moto for CloudWatch Logs; a stubbed client for each name in `stubbed` (filled by the test)."""
    stubbed = {}
    with mock_aws():
        make_client = boto3.client

        def client(service, *args, **kwargs):
            return stubbed[service] if service in stubbed else make_client(service, *args, **kwargs)

        monkeypatch.setattr(boto3, "client", client)
        yield stubbed, make_client


def stub(stubbed, make_client, service: str) -> Stubber:
    client = make_client(service, region_name="us-east-1")
    stubbed[service] = client
    stubber = Stubber(client)
    stubber.activate()
    return stubber


def write_log(make_client, *lines: str) -> None:
    logs = make_client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName=LOG["groupName"])
    logs.create_log_stream(logGroupName=LOG["groupName"], logStreamName=LOG["streamName"])
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=LOG["groupName"], logStreamName=LOG["streamName"], logEvents=events)


def build(status: str, **fields) -> dict:
    return {"id": BUILD_ID, "buildStatus": status, "logs": LOG, **fields}


def seed(launcher, cloudformation, request="Create", context=None) -> dict:
    return invoke(
        launcher,
        cloudformation,
        "Custom::SeedRepository",
        request,
        context,
        Repository="acme/churn",
        BuildProject="p-abcdefghijkl-seed",
    )


def test_seeding_runs_the_build_to_its_end_and_reports_its_last_line(launcher, cloudformation, aws):
    stubbed, make_client = aws
    codebuild = stub(stubbed, make_client, "codebuild")
    codebuild.add_response("start_build", {"build": build("IN_PROGRESS")}, {"projectName": "p-abcdefghijkl-seed"})
    codebuild.add_response("batch_get_builds", {"builds": [build("IN_PROGRESS")]}, {"ids": [BUILD_ID]})
    codebuild.add_response("batch_get_builds", {"builds": [build("SUCCEEDED")]}, {"ids": [BUILD_ID]})
    write_log(
        make_client, "[Container] Running command git init", "seeding: pushed main and dev to acme/churn at 0a1b2c"
    )
    response = seed(launcher, cloudformation)
    codebuild.assert_no_pending_responses()
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"] == {"Status": "pushed main and dev to acme/churn at 0a1b2c"}
    assert response["PhysicalResourceId"] == "acme/churn"


def test_a_failed_seeding_fails_the_stack_saying_why_and_where_the_log_is(launcher, cloudformation, aws):
    stubbed, make_client = aws
    codebuild = stub(stubbed, make_client, "codebuild")
    codebuild.add_response("start_build", {"build": build("FAILED")}, {"projectName": "p-abcdefghijkl-seed"})
    write_log(make_client, "seeding: the push to acme/churn was refused: fatal: unable to access (403)")
    response = seed(launcher, cloudformation)
    assert response["Status"] == "FAILED"
    assert response["Reason"] == (
        "seeding acme/churn failed: the push to acme/churn was refused: fatal: unable to access (403); log: https://log"
    )


def test_a_build_that_fails_before_the_script_names_its_phase(launcher, cloudformation, aws):
    stubbed, make_client = aws
    codebuild = stub(stubbed, make_client, "codebuild")
    phases = [
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED"},
        {"phaseType": "DOWNLOAD_SOURCE", "phaseStatus": "FAILED", "contexts": [{"message": "Access Denied"}]},
    ]
    failed = {"id": BUILD_ID, "buildStatus": "FAILED", "phases": phases}
    codebuild.add_response("start_build", {"build": failed}, {"projectName": "p-abcdefghijkl-seed"})
    response = seed(launcher, cloudformation)
    assert response["Status"] == "FAILED"
    assert response["Reason"] == (
        f"seeding acme/churn failed: DOWNLOAD_SOURCE FAILED: Access Denied; log: build {BUILD_ID} in CodeBuild"
    )


def test_a_build_still_running_when_time_runs_out_fails_before_lambda_does(launcher, cloudformation, aws):
    stubbed, make_client = aws
    codebuild = stub(stubbed, make_client, "codebuild")
    codebuild.add_response("start_build", {"build": build("IN_PROGRESS")}, {"projectName": "p-abcdefghijkl-seed"})
    response = seed(launcher, cloudformation, context=Context(remaining_milliseconds=20_000))
    assert response["Status"] == "FAILED"
    assert response["Reason"] == f"the seeding build {BUILD_ID} is still running; its log: https://log"


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_seeding_happens_once_update_and_delete_touch_nothing(launcher, cloudformation, aws, request_type):
    stubbed, make_client = aws
    codebuild = stub(stubbed, make_client, "codebuild")  # no responses: any call would fail
    response = seed(launcher, cloudformation, request=request_type)
    codebuild.assert_no_pending_responses()
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", "kept-id")
    assert response["Data"] == {"Status": "seeded at creation; left as it is"}


def test_codecommit_branches_dev_from_the_seeded_main(launcher, cloudformation, aws):
    stubbed, make_client = aws
    codecommit = stub(stubbed, make_client, "codecommit")
    codecommit.add_response(
        "get_branch",
        {"branch": {"branchName": "main", "commitId": "0a1b2c"}},
        {"repositoryName": "churn", "branchName": "main"},
    )
    codecommit.add_response("create_branch", {}, {"repositoryName": "churn", "branchName": "dev", "commitId": "0a1b2c"})
    response = invoke(launcher, cloudformation, "Custom::SeedRepository", Repository="churn", RepositoryName="churn")
    codecommit.assert_no_pending_responses()
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"] == {"Status": "seeded churn: main and dev at 0a1b2c"}


def test_an_unforeseen_error_still_reaches_cloudformation(launcher, cloudformation, aws):
    stubbed, make_client = aws
    codebuild = stub(stubbed, make_client, "codebuild")
    codebuild.add_client_error("start_build", "ResourceNotFoundException", "Project cannot be found")
    response = seed(launcher, cloudformation)
    assert response["Status"] == "FAILED"
    assert response["Reason"] == (
        "ResourceNotFoundException: An error occurred (ResourceNotFoundException) when calling the "
        "StartBuild operation: Project cannot be found"
    )
    assert response["PhysicalResourceId"] == "Resource"


def test_an_answer_over_cloudformations_limit_fails_instead_of_vanishing(launcher, cloudformation, monkeypatch):
    monkeypatch.setattr(launcher, "stack_parameters", lambda properties: {"Name": "x" * 5000})
    response = invoke(launcher, cloudformation, "Custom::StackParameters", Stack="cicd", **PROJECT)
    assert (response["Status"], response["Data"]) == ("FAILED", {})
    assert response["Reason"].startswith("the response is ") and response["Reason"].endswith("bytes, over 4096")
