"""buildspecs/: what CodeBuild runs, checked and run here against a moto server.

Every command is one of the project's own (a make target or `python -m` entry point). The
train, deploy and test buildspecs run through `buildspec_runner.run_buildspec` in a subprocess, with
CodeBuild's variables and the variables infra/cicd.yml gives their CodeBuild projects.
"""

import argparse
import json
import re
import shlex
import tomllib
import urllib.request
import xml.etree.ElementTree as ElementTree

import pytest
from buildspec_runner import BUILDSPECS, PROJECT_ROOT, DelayingProxy, checkout, load, run_buildspec
from cfn_templates import load as load_template
from conftest import TEST_ENVIRONMENT, account_session, create_artifact_bucket, require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.deploy import integration
from {{ cookiecutter.package_name }}.deploy.__main__ import argument_parser as deploy_parser
from {{ cookiecutter.package_name }}.infer.handler import input_fn, model_fn, output_fn, predict_fn
from {{ cookiecutter.package_name }}.pipeline.__main__ import argument_parser as pipeline_parser

PACKAGE = "{{ cookiecutter.package_name }}"
DEV, STAGING, PROD = settings.DEV_ACCOUNT_ID, "222222222222", "333333333333"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
BUILD_ID = "build-project:00000000-0000-4000-8000-000000000001"
# What infra/cicd.yml's PrepareProject and TestProject and the deploy pipeline's actions set,
# with CodeBuild's own region.
DEPLOY_VARIABLES = {
    "GIT_COMMIT": COMMIT,
    "BRANCH_NAME": "main",
    "STAGING_ACCOUNT_ID": STAGING,
    "PROD_ACCOUNT_ID": PROD,
    "AWS_REGION": settings.AWS_REGION,
}
SPECS = sorted(path.name for path in BUILDSPECS.glob("*.yml"))
# The uv that make setup installs where there is none (the Makefile's UV_VERSION).
[UV_VERSION] = re.findall(r"^UV_VERSION := (\S+)$", (PROJECT_ROOT / "Makefile").read_text(), re.M)


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(commands.choices)


ENTRY_POINTS = {
    f"{PACKAGE}.pipeline": subcommands(pipeline_parser()),
    f"{PACKAGE}.deploy": subcommands(deploy_parser()),
}


@pytest.mark.parametrize("name", SPECS)
def test_buildspec_runs_on_the_image_with_the_projects_python(name):
    spec = load(name)
    assert spec["version"] == 0.2
    runtime = spec["phases"]["install"]["runtime-versions"]["python"]
    assert runtime == settings.PYTHON_VERSION
    assert runtime in settings.CODEBUILD_PYTHON_RUNTIMES, (
        f"{settings.CODEBUILD_IMAGE} has no Python {runtime}: CodeBuild would refuse the build"
    )
    assert "/root/.cache/uv/**/*" in spec["cache"]["paths"]


def test_every_codebuild_project_runs_a_buildspec_here_on_the_image():
    projects = [
        r["Properties"]
        for r in load_template("cicd.yml")["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    ]
    assert {p["Source"]["BuildSpec"].removeprefix("buildspecs/") for p in projects} == set(SPECS)
    # The buildspecs' cache paths are kept only where the project has a cache.
    assert all(p["Cache"] == {"Type": "LOCAL", "Modes": ["LOCAL_CUSTOM_CACHE"]} for p in projects)
    assert settings.CODEBUILD_IMAGE == "aws/codebuild/amazonlinux-x86_64-standard:5.0"


@pytest.mark.parametrize("name", SPECS)
def test_every_command_is_one_of_the_projects_own(name):
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    phases = load(name)["phases"]
    for phase, commands in phases.items():
        for command in commands["commands"]:
            words = shlex.split(command)
            if words[0] == "make":
                targets = [word for word in words[1:] if "=" not in word]
                assert all(re.search(rf"^{t}:", makefile, re.MULTILINE) for t in targets), command
            elif words[:4] == ["python", "-m", "pip", "install"]:
                # uv itself, at the version make setup installs.
                assert words[4:] == ["--quiet", f"uv=={UV_VERSION}"] and phase == "install", command
            elif words[:3] == ["python", "-m", "uv"]:
                # From the lock, editable as on a laptop: settings then find infra/ and data/.
                # `python -m`: CodeBuild's pyenv has no shim for a script pip just installed.
                assert words[3:6] == ["sync", "--locked", "--extra"] and phase == "install", command
                assert words[6] in extras and len(words) == 7, command
            else:
                assert words[:2] == [".venv/bin/python", "-m"] and words[2] in ENTRY_POINTS, command
                assert words[3] in ENTRY_POINTS[words[2]], command


def test_builds_install_the_uv_the_project_locks():
    dev = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert f"uv=={UV_VERSION}" in dev["optional-dependencies"]["dev"]


# --- train.yml ---


def test_train_publishes_and_runs_the_branchs_pipeline_recording_commit_and_build(
    moto_endpoint, tmp_path
):
    require_sdk()
    session, credentials = account_session(moto_endpoint, DEV)
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "dev"})
    create_artifact_bucket(session.client("s3", endpoint_url=moto_endpoint), config)
    variables = {
        "BRANCH_NAME": "dev",
        "AWS_REGION": settings.AWS_REGION,
        "SAGEMAKER_PIPELINE_ROLE_ARN": config.role_arn(DEV, "sagemaker_execution_role"),
    }
    result = run_buildspec("train.yml", checkout(tmp_path), moto_endpoint, credentials, variables)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "execution succeeded" in result.stderr
    sagemaker = session.client("sagemaker", endpoint_url=moto_endpoint)
    name = config.names["pipeline_name"]
    assert name.endswith("-dev")
    [execution] = sagemaker.list_pipeline_executions(PipelineName=name)[
        "PipelineExecutionSummaries"
    ]
    given = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert {"Name": "GitCommit", "Value": COMMIT} in given
    assert {"Name": "CodeBuildId", "Value": BUILD_ID} in given
    # No dated folder of data yet: the newest data is the input prefix itself.
    assert {"Name": "InputDataUri", "Value": config.input_data_uri} in given
    # The model registered by that execution records both (test_pipeline_definition.py).
    sagemaker.describe_model_package_group(
        ModelPackageGroupName=config.names["model_package_group"]
    )


# --- deploy.yml ---


# What the Register step records of a model (test_pipeline_definition.py): its serving image
# and code, and its drift baseline among its metrics.
SERVING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0"
CODE_ROOT = "s3://bucket/use-case/main/code/0123abcd/"
BASELINE_URI = "s3://bucket/use-case/main/execution/baseline/baseline.json"


def register(
    session, endpoint: str, statuses: list[str], create_group=True, with_baseline=True
) -> list[str]:
    """One package per status in main's model package group, oldest first; their ARNs."""
    sagemaker = session.client("sagemaker", endpoint_url=endpoint)
    group = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"}).names["model_package_group"]
    if create_group:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    container = {
        "Image": SERVING_IMAGE,
        "ModelDataUrl": "s3://bucket/model.tar.gz",
        "Environment": {"SAGEMAKER_SUBMIT_DIRECTORY": CODE_ROOT + "sourcedir.tar.gz"},
    }
    specification = {
        "Containers": [container],
        "SupportedContentTypes": ["text/csv", "application/json"],
        "SupportedResponseMIMETypes": ["text/csv", "application/json"],
    }
    statistics = {"ContentType": "application/json", "S3Uri": BASELINE_URI}
    metrics = {"ModelDataQuality": {"Statistics": statistics}} if with_baseline else {}
    return [
        sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=status,
            InferenceSpecification=specification,
            ModelMetrics=metrics,
        )["ModelPackageArn"]
        for status in statuses
    ]


@pytest.fixture
def dev_account(moto_endpoint):
    """The dev account with its artifact bucket; yields (session, credentials)."""
    session, credentials = account_session(moto_endpoint, DEV)
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    create_artifact_bucket(session.client("s3", endpoint_url=moto_endpoint), config)
    return session, credentials


def prepare(tmp_path, endpoint, credentials, name="run", **variables):
    workdir = checkout(tmp_path / name)
    result = run_buildspec(
        "deploy.yml", workdir, endpoint, credentials, {**DEPLOY_VARIABLES, **variables}
    )
    return result, workdir / "prepared"


def test_deploy_configures_both_stages_for_the_newest_approved_model(
    dev_account, moto_endpoint, tmp_path
):
    session, credentials = dev_account
    arns = register(session, moto_endpoint, ["Approved", "Approved", "PendingManualApproval"])
    result, prepared = prepare(tmp_path, moto_endpoint, credentials)
    assert result.returncode == 0, result.stderr
    assert "model package version 2" in result.stderr
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main", **DEPLOY_VARIABLES})
    for stage, account in (("staging", STAGING), ("prod", PROD)):
        configuration = json.loads((prepared / f"{stage}.json").read_text())
        parameters = configuration["Parameters"]
        assert parameters["ModelPackageArn"] == arns[1]
        assert parameters["EndpointName"] == config.names[f"{stage}_endpoint"]
        assert parameters["ModelExecutionRoleArn"] == config.role_arn(
            account, "model_execution_role"
        )
        assert f":kms:{settings.AWS_REGION}:{account}:alias/" in parameters["EndpointKeyArn"]
        assert parameters["DataCaptureUri"].startswith(f"s3://{config.capture_bucket(stage)}/")
        assert configuration["Tags"]["git-commit"] == COMMIT
        # Its monitoring checks the traffic against the deployed model's own baseline.
        monitoring = json.loads((prepared / f"{stage}-monitoring.json").read_text())["Parameters"]
        assert monitoring["BaselineUri"] == BASELINE_URI
        assert monitoring["ImageUri"] == SERVING_IMAGE
        assert monitoring["CodeUri"] == CODE_ROOT + "src/"
        endpoint = config.names[f"{stage}_endpoint"]
        assert monitoring["CaptureUri"] == f"{parameters['DataCaptureUri']}{endpoint}/AllTraffic/"
        assert monitoring["DriftCheckRoleArn"] == config.role_arn(account, "drift_check_role")
        assert monitoring["RetrainOnDrift"] == ("true" if stage == "prod" else "false")
    assert sorted(p.name for p in prepared.iterdir()) == [
        "prod-monitoring.json",
        "prod.json",
        "staging-monitoring.json",
        "staging.json",
    ]


def test_a_model_without_a_drift_baseline_is_not_deployed(dev_account, moto_endpoint, tmp_path):
    session, credentials = dev_account
    register(session, moto_endpoint, ["Approved"], with_baseline=False)
    result, prepared = prepare(tmp_path, moto_endpoint, credentials)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "records no drift baseline" in line and "nothing was deployed" in line
    assert not prepared.exists()


def test_a_repeated_approval_event_deploys_nothing_twice(dev_account, moto_endpoint, tmp_path):
    session, credentials = dev_account
    register(session, moto_endpoint, ["Approved"])
    first, _ = prepare(tmp_path, moto_endpoint, credentials, "first")
    assert first.returncode == 0, first.stderr
    repeat, prepared = prepare(tmp_path, moto_endpoint, credentials, "repeat")
    assert repeat.returncode == 1
    assert "already deployed or deploying" in repeat.stderr and "Redeploy=yes" in repeat.stderr
    assert not prepared.exists()
    # A new commit of the endpoint's infrastructure, or a redeploy on purpose, goes ahead.
    newer, _ = prepare(tmp_path, moto_endpoint, credentials, "newer", GIT_COMMIT="f" * 40)
    assert newer.returncode == 0, newer.stderr
    again, _ = prepare(tmp_path, moto_endpoint, credentials, "again", REDEPLOY="yes")
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    "statuses", [[], ["PendingManualApproval", "Rejected"]], ids=["empty", "none-approved"]
)
def test_deploy_without_an_approved_model_fails_and_writes_nothing(
    dev_account, moto_endpoint, tmp_path, statuses
):
    session, credentials = dev_account
    register(session, moto_endpoint, statuses)
    result, prepared = prepare(tmp_path, moto_endpoint, credentials)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "no Approved model package" in line and "nothing was deployed" in line
    assert not prepared.exists()


def test_a_rejected_model_never_deploys_and_rejection_rolls_back(
    dev_account, moto_endpoint, tmp_path
):
    session, credentials = dev_account
    sagemaker = session.client("sagemaker", endpoint_url=moto_endpoint)
    first, newest = register(session, moto_endpoint, ["Approved", "Approved"])
    register(session, moto_endpoint, ["PendingManualApproval"], create_group=False)
    sagemaker.update_model_package(ModelPackageArn=newest, ModelApprovalStatus="Rejected")
    result, prepared = prepare(tmp_path, moto_endpoint, credentials, "rollback")
    assert result.returncode == 0, result.stderr
    deployed = json.loads((prepared / "prod.json").read_text())["Parameters"]["ModelPackageArn"]
    assert deployed == first
    # The newest is rejected and no other approval is left: nothing deploys.
    sagemaker.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Rejected")
    result, prepared = prepare(tmp_path, moto_endpoint, credentials, "none", GIT_COMMIT="e" * 40)
    assert result.returncode == 1 and "no Approved model package" in result.stderr
    assert not prepared.exists()


# --- test.yml ---


@pytest.fixture
def staging_endpoint(dev_account, moto_endpoint):
    """The staging account's endpoint, InService; yields the dev account's credentials."""
    session, _ = account_session(moto_endpoint, STAGING)
    sagemaker = session.client("sagemaker", endpoint_url=moto_endpoint)
    name = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"}).names["staging_endpoint"]
    sagemaker.create_model(
        ModelName="model",
        ExecutionRoleArn=f"arn:aws:iam::{STAGING}:role/model",
        PrimaryContainer={"Image": "image", "ModelDataUrl": "s3://bucket/model.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="config")
    return dev_account[1]


def queue_responses(endpoint: str, bodies: list[tuple[str, str]]) -> None:
    """What moto's endpoint answers, in order, one (body, content type) per distinct request."""
    results = [{"Body": body, "ContentType": content_type} for body, content_type in bodies]
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(
            {"account_id": STAGING, "region": settings.AWS_REGION, "results": results}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request)


def handler_responses(model_dir) -> list[tuple[str, str]]:
    """The answers the real handler gives the integration test's requests."""
    model = model_fn(str(model_dir))
    rows, _ = integration.sample(settings.SAMPLE_DATA, integration.ROWS)
    return [
        output_fn(predict_fn(input_fn(r.body, r.content_type), model), r.content_type)
        for r in integration.requests_for(rows)
    ]


def integration_test(tmp_path, endpoint, credentials, **variables):
    workdir = checkout(tmp_path / "test")
    result = run_buildspec(
        "test.yml", workdir, endpoint, credentials, {**DEPLOY_VARIABLES, **variables}
    )
    report = workdir / "reports" / "integration.xml"
    return result, ElementTree.parse(report).getroot().find(
        "testsuite"
    ) if report.exists() else None


def test_integration_test_passes_on_the_handlers_answers(
    staging_endpoint, moto_endpoint, model_dir, tmp_path
):
    queue_responses(moto_endpoint, handler_responses(model_dir))
    result, suite = integration_test(tmp_path, moto_endpoint, staging_endpoint)
    assert result.returncode == 0, result.stderr
    assert suite.get("tests") == "3" and suite.get("failures") == "0"
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == ["text/csv responses", "application/json responses", "p95 latency within 1 s"]


def malformed(body: str, content_type: str) -> tuple[str, str]:
    if content_type == "application/json":
        return json.dumps({"predictions": []}), content_type
    return "2,1.5\n", content_type


def test_integration_test_fails_on_malformed_responses(
    staging_endpoint, moto_endpoint, model_dir, tmp_path
):
    queue_responses(moto_endpoint, [malformed(*answer) for answer in handler_responses(model_dir)])
    result, suite = integration_test(tmp_path, moto_endpoint, staging_endpoint)
    assert result.returncode == 1
    assert suite.get("failures") == "2"
    assert "malformed response" in result.stderr
    failures = [case.find("failure") for case in suite.iter("testcase")]
    assert failures[2] is None  # the answers came fast; only their content was wrong


def test_integration_test_fails_on_slow_responses(
    staging_endpoint, moto_endpoint, model_dir, tmp_path
):
    """Three of 40 requests take 0.4 s: the 95th percentile is one of them."""
    queue_responses(moto_endpoint, handler_responses(model_dir))
    port = int(moto_endpoint.rpartition(":")[2])
    with DelayingProxy(port, slow=3, delay=0.4) as proxy:
        result, suite = integration_test(
            tmp_path, proxy.url, staging_endpoint, INTEGRATION_P95_SECONDS="0.25"
        )
    assert result.returncode == 1
    assert "p95 latency" in result.stderr and "exceeds 0.25 s" in result.stderr
    assert suite.get("failures") == "1"


def test_integration_test_refuses_an_endpoint_not_in_service(dev_account, moto_endpoint, tmp_path):
    result, suite = integration_test(tmp_path, moto_endpoint, dev_account[1])
    assert result.returncode == 2 and suite is None
    assert "AWS refused DescribeEndpoint" in result.stderr or "not InService" in result.stderr
