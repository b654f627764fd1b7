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
{%- if cookiecutter.inference != "batch" %}
import urllib.request
{%- endif %}
import xml.etree.ElementTree as ElementTree
from types import SimpleNamespace

import pytest
{%- if cookiecutter.inference != "batch" %}
from buildspec_runner import BUILDSPECS, PROJECT_ROOT, DelayingProxy, checkout, load, run_buildspec
{%- else %}
from buildspec_runner import BUILDSPECS, PROJECT_ROOT, checkout, load, run_buildspec
{%- endif %}
from cfn_templates import load as load_template
from conftest import TEST_ENVIRONMENT, account_session, create_artifact_bucket, require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.deploy import integration, release
from {{ cookiecutter.package_name }}.deploy.__main__ import argument_parser as deploy_parser
{%- if cookiecutter.inference != "realtime" %}
from {{ cookiecutter.package_name }}.infer.__main__ import main as predict
{%- endif %}
{%- if cookiecutter.inference != "batch" %}
from {{ cookiecutter.package_name }}.infer.handler import input_fn, model_fn, output_fn, predict_fn
{%- endif %}
from {{ cookiecutter.package_name }}.pipeline.__main__ import argument_parser as pipeline_parser
from {{ cookiecutter.package_name }}.tracking import wheelhouse

PACKAGE = "{{ cookiecutter.package_name }}"
DEV, STAGING, PROD = settings.DEV_ACCOUNT_ID, "222222222222", "333333333333"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
MLFLOW_APP_ARN = "arn:aws:sagemaker:us-east-1:111111111111:mlflow-app/app-0123456789ab"
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
                assert words[3:5] == ["sync", "--locked"] and phase == "install", command
                options, chosen = words[5::2], words[6::2]
                assert set(options) == {"--extra"} and set(chosen) <= set(extras), command
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
        "MLFLOW_TRACKING_ARN": MLFLOW_APP_ARN,
    }
    result = run_buildspec("train.yml", checkout(tmp_path), moto_endpoint, credentials, variables)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "execution succeeded" in result.stderr
    sagemaker = session.client("sagemaker", endpoint_url=moto_endpoint)
    name = config.names["pipeline_name"]
    assert name.endswith("-dev")
    # Executions are tracked in the MLflow App the CI names, with MLflow from the wheelhouse.
    definition = json.loads(sagemaker.describe_pipeline(PipelineName=name)["PipelineDefinition"])
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert defaults["MlflowTrackingUri"] == MLFLOW_APP_ARN
    wheels = wheelhouse.project_wheels()
    bucket, _, prefix = wheelhouse.location(wheels, config.use_case_root)[5:].partition("/")
    uploaded = session.client("s3", endpoint_url=moto_endpoint).list_objects_v2(
        Bucket=bucket, Prefix=prefix
    )
    assert sorted(item["Key"] for item in uploaded["Contents"]) == sorted(
        prefix + wheel.file_name for wheel in wheels
    )
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
# and code (named by its digest), and its drift baseline among its metrics.
SERVING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0"
CODE_DIGEST = "0123abcd" * 8
CODE_ROOT = f"s3://bucket/use-case/main/code/{CODE_DIGEST}/"
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
            CustomerMetadataProperties={"code-digest": CODE_DIGEST},
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


def newest_approved_prepared(dev_account, moto_endpoint, tmp_path):
    """The deploy build run on two Approved versions and a pending one: the ARNs, and the
    configurations it wrote, each of the second version at this commit."""
    session, credentials = dev_account
    arns = register(session, moto_endpoint, ["Approved", "Approved", "PendingManualApproval"])
    result, prepared = prepare(tmp_path, moto_endpoint, credentials)
    assert result.returncode == 0, result.stderr
    assert "model package version 2" in result.stderr
    names = sorted(f"{name}.json" for name in release.configuration_names())
    assert sorted(path.name for path in prepared.iterdir()) == names
    for path in prepared.iterdir():
        configuration = json.loads(path.read_text())
        assert configuration["Tags"]["git-commit"] == COMMIT
        assert configuration["Tags"]["model-package-version"] == "2"
    return arns, prepared
{%- if cookiecutter.inference != "batch" %}


def test_deploy_configures_each_stages_endpoint_for_the_newest_approved_model(
    dev_account, moto_endpoint, tmp_path
):
    arns, prepared = newest_approved_prepared(dev_account, moto_endpoint, tmp_path)
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
        # Its monitoring checks the traffic against the deployed model's own baseline.
        monitoring = json.loads((prepared / f"{stage}-monitoring.json").read_text())["Parameters"]
        assert monitoring["BaselineUri"] == BASELINE_URI
        assert monitoring["ImageUri"] == SERVING_IMAGE
        assert monitoring["CodeUri"] == CODE_ROOT + "src/"
        endpoint = config.names[f"{stage}_endpoint"]
        assert monitoring["CaptureUri"] == f"{parameters['DataCaptureUri']}{endpoint}/AllTraffic/"
        assert monitoring["DriftCheckRoleArn"] == config.role_arn(account, "drift_check_role")
        assert monitoring["RetrainOnDrift"] == ("true" if stage == "prod" else "false")
{%- endif %}
{%- if cookiecutter.inference != "realtime" %}


def test_deploy_pins_each_stages_scoring_pipeline_to_the_newest_approved_model(
    dev_account, moto_endpoint, tmp_path
):
    arns, prepared = newest_approved_prepared(dev_account, moto_endpoint, tmp_path)
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main", **DEPLOY_VARIABLES})
    s3 = dev_account[0].client("s3", endpoint_url=moto_endpoint)
    for stage, account in (("staging", STAGING), ("prod", PROD)):
        parameters = json.loads((prepared / f"{stage}-batch.json").read_text())["Parameters"]
        assert parameters["PipelineName"] == config.names[f"{stage}_scoring_pipeline"]
        assert parameters["ScoringRoleArn"] == config.role_arn(account, "scoring_role")
        assert parameters["CreateAlertTopic"] == str(not settings.DEPLOYS_ENDPOINT).lower()
        assert parameters["RetrainOnDrift"] == ("true" if stage == "prod" else "false")
        assert "InstanceType" not in parameters  # the definition's, not the stack's
        # The definition the stage's CloudFormation reads: this model's, this stage's.
        bucket, key = parameters["PipelineDefinitionBucket"], parameters["PipelineDefinitionKey"]
        assert bucket == config.names["artifact_bucket"]
        assert key.startswith(f"{config.use_case}/deployments/scoring/")
        definition = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
        assert defaults["ModelPackageArn"] == arns[1] and defaults["ModelPackageVersion"] == "2"
        assert defaults["CodeDigest"] == CODE_DIGEST and defaults["CodeUri"] == CODE_ROOT + "src/"
        assert defaults["BaselineUri"] == BASELINE_URI and defaults["ImageUri"] == SERVING_IMAGE
        assert defaults["MetricsNamespace"] == config.names["drift_metrics_namespace"]
        for step in definition["Steps"]:
            assert step["Arguments"]["RoleArn"] == config.role_arn(account, "scoring_role")
        root = release.scoring_root(config, stage)
        assert root.startswith(f"s3://{config.capture_bucket(stage)}/")
        [score] = [step for step in definition["Steps"] if step["Name"] == "Score"]
        batch_input = score["Arguments"]["ProcessingInputs"][2]["S3Input"]["S3Uri"]
        assert batch_input["Std:Join"]["Values"][0] == root
{%- endif %}


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
    for name in release.configuration_names():
        tags = json.loads((prepared / f"{name}.json").read_text())["Tags"]
        assert tags["model-package-version"] == first.rpartition("/")[2]
    # The newest is rejected and no other approval is left: nothing deploys.
    sagemaker.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Rejected")
    result, prepared = prepare(tmp_path, moto_endpoint, credentials, "none", GIT_COMMIT="e" * 40)
    assert result.returncode == 1 and "no Approved model package" in result.stderr
    assert not prepared.exists()


# --- test.yml ---


@pytest.fixture
def staging(dev_account, moto_endpoint, model_dir, monkeypatch, tmp_path):
{%- if cookiecutter.inference == "realtime" %}
    """The staging account as its deployment leaves it: its endpoint InService. Yields the dev
    account's `credentials`."""
{%- else %}
    """The staging account as its deployment leaves it: {% if cookiecutter.inference == "both" %}its endpoint InService, and {% endif %}its scoring
    pipeline, whose executions SageMaker would run: here `job` runs in their place (by default
    the Score step's own entry point, `infer`, on the batch, with the model under test). Yields
    the dev account's `credentials` and the `job`, which a test may replace."""
{%- endif %}
    session, _ = account_session(moto_endpoint, STAGING)
    sagemaker = session.client("sagemaker", endpoint_url=moto_endpoint)
    config = settings.load({**TEST_ENVIRONMENT, **DEPLOY_VARIABLES})
{%- if cookiecutter.inference != "batch" %}
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
    sagemaker.create_endpoint(
        EndpointName=config.names["staging_endpoint"], EndpointConfigName="config"
    )
{%- endif %}
{%- if cookiecutter.inference != "realtime" %}
    from moto.s3.models import s3_backends
    from moto.sagemaker.models import SageMakerModelBackend

    bucket, prefix = release.scoring_root(config, "staging").removeprefix("s3://").split("/", 1)
    session.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    sagemaker.create_pipeline(
        PipelineName=config.names["staging_scoring_pipeline"],
        PipelineDefinition="{}",
        RoleArn=config.role_arn(STAGING, "scoring_role"),
    )
    storage = s3_backends[STAGING]["global"]
    group = config.names["model_package_group"].lower()
    package = f"arn:aws:sagemaker:{config.region}:{DEV}:model-package/{group}/2"

    def score_job(execution, batch: str, execution_id: str, scratch) -> None:
        """What the Score step does: the package's batch path on the batch, with the model."""
        source = f"{prefix}/input/{batch}/sample.csv"
        (scratch / "input").mkdir(parents=True)
        (scratch / "input" / "sample.csv").write_bytes(storage.get_object(bucket, source).value)
        output = f"{prefix}/output/{batch}/{execution_id}/predictions"
        arguments = ["--model-dir", model_dir, "--input", scratch / "input"]
        arguments += ["--output-dir", scratch / "output", "--model-package-arn", package]
        arguments += ["--model-package-version", "2", "--code-digest", CODE_DIGEST]
        arguments += ["--input-uri", f"s3://{bucket}/{prefix}/input/{batch}/"]
        assert predict([str(argument) for argument in arguments]) == 0
        for path in (scratch / "output").iterdir():
            storage.put_object(bucket, f"{output}/{path.name}", path.read_bytes())

    started = SageMakerModelBackend.start_pipeline_execution

    def start(backend, pipeline_name, display_name, parameters, *args, **kwargs):
        response = started(backend, pipeline_name, display_name, parameters, *args, **kwargs)
        arn = response["PipelineExecutionArn"]
        execution = backend.pipelines[pipeline_name].pipeline_executions[arn]
        [batch] = [p["Value"] for p in parameters if p["Name"] == "BatchDate"]
        stage.job(execution, batch, arn.rpartition("/")[2], tmp_path / "job")
        return response

    stage = SimpleNamespace(credentials=dev_account[1], job=score_job)
    monkeypatch.setattr(SageMakerModelBackend, "start_pipeline_execution", start)
    return stage
{%- else %}
    return SimpleNamespace(credentials=dev_account[1])
{%- endif %}
{%- if cookiecutter.inference != "batch" %}


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
{%- endif %}


def integration_test(tmp_path, endpoint, credentials, **variables):
    workdir = checkout(tmp_path / "test")
    result = run_buildspec(
        "test.yml", workdir, endpoint, credentials, {**DEPLOY_VARIABLES, **variables}
    )
    report = workdir / "reports" / "integration.xml"
    return result, ElementTree.parse(report).getroot().find(
        "testsuite"
    ) if report.exists() else None


# The cases of each kind of deployment, in the report's order.
ENDPOINT_CASES = ["text/csv responses", "application/json responses", "p95 latency within 1 s"]
SCORING_CASES = [
    "scoring pipeline execution succeeds",
    "every row scored once, in order",
    "scores of the problem type's types and ranges",
    "manifest names the model and the rows",
]
CASES = ENDPOINT_CASES * settings.DEPLOYS_ENDPOINT + SCORING_CASES * settings.DEPLOYS_SCORING


def failed_cases(suite) -> list[str]:
    return [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]


def test_integration_test_passes_on_the_models_answers(staging, moto_endpoint, model_dir, tmp_path):
{%- if cookiecutter.inference != "batch" %}
    queue_responses(moto_endpoint, handler_responses(model_dir))
{%- endif %}
    result, suite = integration_test(tmp_path, moto_endpoint, staging.credentials)
    assert result.returncode == 0, result.stderr
    assert [case.get("name") for case in suite.iter("testcase")] == CASES
    assert failed_cases(suite) == []
{%- if cookiecutter.inference != "batch" %}


def malformed(body: str, content_type: str) -> tuple[str, str]:
    if content_type == "application/json":
        return json.dumps({"predictions": []}), content_type
    return "2,1.5\n", content_type


def test_integration_test_fails_on_malformed_responses(staging, moto_endpoint, model_dir, tmp_path):
    queue_responses(moto_endpoint, [malformed(*answer) for answer in handler_responses(model_dir)])
    result, suite = integration_test(tmp_path, moto_endpoint, staging.credentials)
    assert result.returncode == 1
    assert "malformed response" in result.stderr
    # The answers came fast; only their content was wrong.
    assert failed_cases(suite) == ENDPOINT_CASES[:2]


def test_integration_test_fails_on_slow_responses(staging, moto_endpoint, model_dir, tmp_path):
    """Three of 40 requests take 0.4 s: the 95th percentile is one of them."""
    queue_responses(moto_endpoint, handler_responses(model_dir))
    port = int(moto_endpoint.rpartition(":")[2])
    with DelayingProxy(port, slow=3, delay=0.4) as proxy:
        result, suite = integration_test(
            tmp_path, proxy.url, staging.credentials, INTEGRATION_P95_SECONDS="0.25"
        )
    assert result.returncode == 1
    assert "p95 latency" in result.stderr and "exceeds 0.25 s" in result.stderr
    assert failed_cases(suite) == ["p95 latency within 0.25 s"]


def test_integration_test_refuses_an_endpoint_not_in_service(dev_account, moto_endpoint, tmp_path):
    result, suite = integration_test(tmp_path, moto_endpoint, dev_account[1])
    assert result.returncode == 2 and suite is None
    assert "AWS refused DescribeEndpoint" in result.stderr or "not InService" in result.stderr
{%- endif %}
{%- if cookiecutter.inference != "realtime" %}


def failed_execution(execution, *_) -> None:
    execution.pipeline_execution_status = "Failed"


def scores_with_a_row_lost_and_a_bad_value(model_dir, job):
    """A Score job that loses the last row and writes an impossible value in the first."""

    def run(execution, batch, execution_id, scratch) -> None:
        job(execution, batch, execution_id, scratch)
        from moto.s3.models import s3_backends

        storage = s3_backends[STAGING]["global"]
        config = settings.load({**TEST_ENVIRONMENT, **DEPLOY_VARIABLES})
        bucket, prefix = release.scoring_root(config, "staging").removeprefix("s3://").split("/", 1)
        key = f"{prefix}/output/{batch}/{execution_id}/predictions/sample.csv"
        lines = storage.get_object(bucket, key).value.decode().splitlines()
        lines[1] = f"{lines[1].rpartition(',')[0]},1e9"  # far beyond any probability or target
        storage.put_object(bucket, key, ("\n".join(lines[:-1]) + "\n").encode())

    return run


def test_integration_test_fails_when_the_scoring_execution_fails(
    staging, moto_endpoint, model_dir, tmp_path
):
{%- if cookiecutter.inference != "batch" %}
    queue_responses(moto_endpoint, handler_responses(model_dir))
{%- endif %}
    staging.job = failed_execution
    result, suite = integration_test(tmp_path, moto_endpoint, staging.credentials)
    assert result.returncode == 1
    assert "is Failed" in result.stderr
    assert failed_cases(suite) == SCORING_CASES[:1]


def test_integration_test_fails_on_lost_rows_and_impossible_scores(
    staging, moto_endpoint, model_dir, tmp_path
):
{%- if cookiecutter.inference != "batch" %}
    queue_responses(moto_endpoint, handler_responses(model_dir))
{%- endif %}
    staging.job = scores_with_a_row_lost_and_a_bad_value(model_dir, staging.job)
    result, suite = integration_test(tmp_path, moto_endpoint, staging.credentials)
    assert result.returncode == 1
    assert f"{integration.ROWS} rows sent, {integration.ROWS - 1} scored" in result.stderr
    assert failed_cases(suite) == SCORING_CASES[1:3]
{%- endif %}
