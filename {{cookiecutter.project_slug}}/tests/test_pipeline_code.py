"""The code shipped to SageMaker is this package, named by content, runnable in the images."""

import ast
import io
import tarfile

import boto3

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.pipeline import code

PACKAGE = "{{ cookiecutter.package_name }}"
ENTRY_POINTS = [f"{PACKAGE}/{step}/__main__.py" for step in ("data", "train", "evaluate", "infer")]


def test_bundle_is_the_package_with_its_entry_points():
    paths = [path for path, _ in code.collect().files]
    assert {*ENTRY_POINTS, f"{PACKAGE}/infer/handler.py", f"{PACKAGE}/settings.py"} <= set(paths)
    assert all(path.startswith(f"{PACKAGE}/") for path in paths)
    assert not [path for path in paths if "__pycache__" in path or path.endswith(".pyc")]
    assert paths == sorted(paths)


def test_digest_follows_the_content(tmp_path):
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"ignored")
    (package / ".env").write_text("SECRET=ignored\n")
    first = code.collect(package)
    assert [path for path, _ in first.files] == [f"{PACKAGE}/__init__.py"]
    assert code.collect(package).digest == first.digest
    (package / "__init__.py").write_text("VERSION = 2\n")
    assert code.collect(package).digest != first.digest


def test_archive_is_reproducible_and_installable_by_the_serving_image():
    bundle = code.collect()
    archive = bundle.archive()
    assert archive == code.collect().archive()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = tar.getnames()
        setup = tar.extractfile("setup.py").read().decode()
        assert {member.mtime for member in tar.getmembers()} == {0}
    assert names[0] == "setup.py" and f"{PACKAGE}/infer/handler.py" in names
    assert "find_packages()" in setup and f'name="{PACKAGE}"' in setup
    ast.parse(setup)


def test_shipped_code_parses_with_the_images_python():
    """The images run Python settings.IMAGE_PYTHON, which may be older than this project's."""
    for path, data in code.collect().files:
        if path.endswith(".py"):
            ast.parse(data, filename=path, feature_version=settings.IMAGE_PYTHON)


def test_publish_uploads_each_version_once(mock_aws_account):
    config = mock_aws_account
    s3 = boto3.client("s3", region_name=config.region)
    bundle = code.collect()
    assert code.publish(bundle, config.branch_root, s3, config.dev_account_id) is True
    assert code.publish(bundle, config.branch_root, s3, config.dev_account_id) is False
    bucket = config.names["artifact_bucket"]
    prefix = bundle.location(config.branch_root).removeprefix(f"s3://{bucket}/")
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert {f"{prefix}src/{entry_point}" for entry_point in ENTRY_POINTS} <= keys
    assert f"{prefix}{code.ARCHIVE_NAME}" in keys
    assert prefix.startswith(f"{config.use_case}/main/code/{bundle.digest}/")
