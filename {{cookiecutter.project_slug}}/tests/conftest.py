"""Shared fixtures: the sample data, its splits, one trained model, and AWS stand-ins.

Tests never reach AWS: moto stands in for it, and nothing looks for credentials on the EC2
metadata service or sends the SageMaker SDK's usage telemetry.
"""

import gc
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import settings, threads
from {{ cookiecutter.package_name }}.data.core import read_csv_files, split
from {{ cookiecutter.package_name }}.train.core import fit, save
from {{ cookiecutter.package_name }}.train.hyperparameters import Hyperparameters

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# The tests check the rendered answers wherever they run: CodeBuild and SageMaker Projects set
# these for the project's commands (the tests that need one set it themselves).
for variable in settings.ENVIRONMENT_VARIABLES:
    os.environ.pop(variable, None)
# SageMaker Projects seed code names AWS resources only as a project: its tests run as one.
TEST_ENVIRONMENT = (
    {"SAGEMAKER_PROJECT_NAME": "Seed-Tests", "SAGEMAKER_PROJECT_ID": "p-000000000000"}
    if settings.SAGEMAKER_PROJECTS
    else {}
)
os.environ.update(TEST_ENVIRONMENT)


def pytest_collection_finish(session):
    """What collection imported lives until the end: frozen, the garbage collector no longer
    walks it, at each collection and at exit."""
    gc.freeze()


def require_sdk() -> None:
    """Skip (the test, or the module at its top) unless the pipeline extra is installed.

    find_spec, not importorskip: importing the SDK costs seconds, and would start its telemetry
    in a test without `no_sdk_telemetry`.
    """
    if importlib.util.find_spec("sagemaker") is None:
        pytest.skip(
            "the pipeline extra is not installed: make setup EXTRAS=dev,pipeline",
            allow_module_level=True,
        )


def _no_request(*_, **__):
    return None


@pytest.fixture
def ctrl_c_interrupts():
    """Python's own Ctrl-C handler, as in a terminal, for the tests that press Ctrl-C: a process
    started with SIGINT ignored (a background job of a script, say) inherits that, and would
    never see it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def no_sdk_telemetry():
    """The SDK reports usage from a background thread, past moto; not from these tests.

    The modules that use the SDK in process ask for this (`pytestmark`): importing the SDK takes
    seconds, which every test process would pay otherwise.
    """
    if importlib.util.find_spec("sagemaker") is None:
        yield
        return
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.AWS_REGION)  # the SDK needs one
    from sagemaker.core.telemetry import telemetry_logging

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(telemetry_logging, "_send_telemetry_request", _no_request)
        yield


@pytest.fixture(autouse=True)
def sdk_telemetry_stays_off():
    """Fails a test that imported the SDK without `no_sdk_telemetry`, naming the fix."""
    yield
    telemetry = sys.modules.get("sagemaker.core.telemetry.telemetry_logging")
    assert telemetry is None or telemetry._send_telemetry_request is _no_request, (
        "this test imported the SageMaker SDK: give its module"
        ' pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")'
    )


@pytest.fixture(autouse=True)
def untracked(monkeypatch):
    """Local runs track nothing, and never into the project's mlruns/: test_tracking.py tracks."""
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, "")


@pytest.fixture(scope="session", autouse=True)
def bounded_threads():
    """Fit and predict as the steps do: with the thread limit of this machine (threads.py)."""
    threads.limit("tests")


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return settings.SAMPLE_DATA


@pytest.fixture(scope="session")
def sample_frame(sample_path):
    return read_csv_files(sample_path)


@pytest.fixture(scope="session")
def splits(sample_frame):
    return split(sample_frame)


@pytest.fixture(scope="session")
def hyperparameters() -> Hyperparameters:
    return Hyperparameters(n_estimators=50)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, splits, hyperparameters) -> Path:
    directory = tmp_path_factory.mktemp("model")
    save(fit(splits["train"], hyperparameters), directory, hyperparameters)
    return directory


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere boto3 looks (environment and files; metadata is off)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        settings.ROLE_ARN_VARIABLE,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("BRANCH_NAME", "main")


def create_artifact_bucket(s3_client, config: settings.Settings) -> None:
    """The bucket the CI/CD stack creates in a real account."""
    bucket = {"Bucket": config.names["artifact_bucket"]}
    if config.region != "us-east-1":  # the one region that refuses a location constraint
        bucket["CreateBucketConfiguration"] = {"LocationConstraint": config.region}
    s3_client.create_bucket(**bucket)


@pytest.fixture
def mock_aws(no_aws_credentials, monkeypatch):
    """An in-process moto AWS whose credentials are the dev account's; yields the settings."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", settings.DEV_ACCOUNT_ID)
    with mock_aws():
        yield settings.load()


@pytest.fixture
def mock_aws_account(mock_aws):
    """The dev account as the CI/CD stack leaves it: with its artifact bucket."""
    import boto3

    create_artifact_bucket(boto3.client("s3", region_name=mock_aws.region), mock_aws)
    return mock_aws


@pytest.fixture(scope="session")
def moto_server():
    """A moto server in this process, for commands that run as subprocesses; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server, monkeypatch):
    """The moto server, emptied. Requests tell their account by their credentials (see
    `account_credentials`), so MOTO_ACCOUNT_ID, which would override them, is unset."""
    import urllib.request

    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    return moto_server


def account_credentials(endpoint: str, account: str) -> dict[str, str]:
    """Credentials of a role in `account`, as environment variables: moto maps them to it."""
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=settings.AWS_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/tests", RoleSessionName="tests"
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def account_session(endpoint: str, account: str):
    """A boto3 session whose clients reach `account` on the moto server at `endpoint`."""
    import boto3

    credentials = account_credentials(endpoint, account)
    session = boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=settings.AWS_REGION,
    )
    return session, credentials


def git_repository(path: Path, branch: str) -> Path:
    """A git repository at `path` (made if need be) with one empty commit, on `branch`."""
    path.mkdir(parents=True, exist_ok=True)
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    commit = ["-c", "commit.gpgsign=false", "commit", "--quiet", "--allow-empty", "-m", "Start"]
    for arguments in (["init", "--quiet", f"--initial-branch={branch}"], [*identity, *commit]):
        subprocess.run(["git", "-C", str(path), *arguments], check=True, capture_output=True)
    return path
