"""MLflow for the Track job (the image has none): the wheelhouse upsert uploads, the job unpacks."""

import hashlib
import importlib
import sys
import tomllib
import zipfile

import boto3
import pytest
from conftest import create_artifact_bucket

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.tracking import wheelhouse
from {{ cookiecutter.package_name }}.tracking.wheelhouse import Wheel, WheelhouseError

PYTHON_TAG = f"cp{settings.PYTHON_VERSION.replace('.', '')}"


def test_the_wheelhouse_is_the_locked_client_less_what_the_image_has():
    chosen = {wheel.name: wheel for wheel in wheelhouse.project_wheels()}
    assert {"mlflow-skinny", "sagemaker-mlflow", "pydantic-core"} <= set(chosen)
    pins = tomllib.loads(settings.IMAGE_RECORD.read_text())["image"]["pins"]
    assert not set(chosen) & {*pins, "boto3", "botocore", "mlflow"}
    locked = {
        package["name"]: package["version"]
        for package in tomllib.loads(settings.LOCK_FILE.read_text())["package"]
    }
    for name, wheel in chosen.items():
        assert f"-{locked[name]}-" in wheel.file_name  # the very version the tests run
        python, abi, platform = wheel.file_name.removesuffix(".whl").split("-")[-3:]
        assert platform == "any" or ("manylinux" in platform and platform.endswith("x86_64"))
        assert python.startswith(("py3", "cp3")) and abi in (PYTHON_TAG, "abi3", "none")


def locked_wheel(file_name: str, digit: str) -> str:
    """One entry of a package's `wheels` in uv.lock."""
    url, digest = f"https://files.example/{file_name}", digit * 64
    return "{ url = " + f'"{url}", hash = "sha256:{digest}"' + " }"


def lock_with(tmp_path, wheels: list[str]):
    """A lock of the client alone: mlflow-skinny with these wheels, and the plugin."""
    lock = tmp_path / "uv.lock"
    client_wheels = ", ".join(locked_wheel(name, "0") for name in wheels)
    plugin_wheel = locked_wheel("sm-0.5-py3-none-any.whl", "1")
    lock.write_text(
        '[[package]]\nname = "mlflow-skinny"\nversion = "3.0"\n'
        f"wheels = [{client_wheels}]\n"
        '[[package]]\nname = "sagemaker-mlflow"\nversion = "0.5"\n'
        f"wheels = [{plugin_wheel}]\n"
    )
    return lock


def test_the_most_specific_wheel_for_the_image_is_chosen(tmp_path):
    lock = lock_with(
        tmp_path,
        [
            "m-3.0-py3-none-any.whl",
            f"m-3.0-{PYTHON_TAG}-{PYTHON_TAG}-manylinux2014_x86_64.whl",
            f"m-3.0-{PYTHON_TAG}-{PYTHON_TAG}-macosx_11_0_arm64.whl",
        ],
    )
    [client, _] = wheelhouse.wheels(lock, {})
    assert client.file_name == f"m-3.0-{PYTHON_TAG}-{PYTHON_TAG}-manylinux2014_x86_64.whl"


def test_a_package_with_no_wheel_for_the_image_is_named(tmp_path):
    lock = lock_with(tmp_path, [f"m-3.0-{PYTHON_TAG}-{PYTHON_TAG}-macosx_11_0_arm64.whl"])
    with pytest.raises(WheelhouseError, match=r"mlflow-skinny 3\.0 has no wheel for the image"):
        wheelhouse.wheels(lock, {})


def fake_wheel(folder, module: str) -> Wheel:
    """A wheel holding one module, as a local file whose hash the 'lock' knows."""
    path = folder / f"{module}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{module}/__init__.py", "ANSWER = 42\n")
        archive.writestr(f"{module}-1.0.dist-info/METADATA", f"Name: {module}\nVersion: 1.0\n")
    return Wheel(module, path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_download_is_checked_against_the_lock_and_kept(tmp_path):
    wheel = fake_wheel(tmp_path, "probe_kept")
    cache = tmp_path / "cache"
    assert wheelhouse.download(wheel, cache) == (tmp_path / wheel.file_name).read_bytes()
    assert (cache / wheel.file_name).is_file()
    tampered = Wheel(wheel.name, wheel.url, "f" * 64)
    with pytest.raises(WheelhouseError, match="its hash is not the lock's"):
        wheelhouse.download(tampered, tmp_path / "other-cache")


def test_upsert_uploads_the_wheelhouse_once_and_the_job_imports_from_it(
    tmp_path, mock_aws, monkeypatch
):
    s3_client = boto3.client("s3", region_name=mock_aws.region)
    create_artifact_bucket(s3_client, mock_aws)
    chosen = [fake_wheel(tmp_path, "probe_tracking_client")]
    uri = wheelhouse.location(chosen, mock_aws.use_case_root)
    owner = mock_aws.dev_account_id
    assert wheelhouse.publish(chosen, uri, s3_client, owner) is True
    assert wheelhouse.publish(chosen, uri, s3_client, owner) is False

    monkeypatch.setattr(sys, "path", list(sys.path))
    target = tmp_path / "site"
    seconds = wheelhouse.make_importable("probe_tracking_client", uri, s3_client, target)
    assert seconds > 0
    assert importlib.import_module("probe_tracking_client").ANSWER == 42
    assert sys.path[0] == str(target)
    # Once importable, there is nothing to fetch.
    assert wheelhouse.make_importable("probe_tracking_client", uri, s3_client, target) == 0.0
    del sys.modules["probe_tracking_client"]


def test_a_job_without_mlflow_or_wheelhouse_says_so():
    with pytest.raises(WheelhouseError, match="not installed and TRACKING_WHEELHOUSE names no"):
        wheelhouse.make_importable("probe_nowhere_to_be_found", None)
