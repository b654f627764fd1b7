"""Champion/challenger: the comparison Evaluate records for the gate, and finding the champion."""

import json
import shutil
import tarfile
from dataclasses import replace

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.evaluate import champion
from {{ cookiecutter.package_name }}.evaluate.__main__ import main as evaluate_entry
from {{ cookiecutter.package_name }}.evaluate.core import Champion, ChampionError, evaluate, metadata_text
from {{ cookiecutter.package_name }}.infer.handler import model_fn, predict_array
from {{ cookiecutter.package_name }}.pipeline import registry
from {{ cookiecutter.package_name }}.train.core import features_and_target

GROUP = "customer-models"


class Scrambled:
    """Another estimator's predictions handed to the wrong rows: a model no better than chance."""

    def __init__(self, estimator):
        self.estimator = estimator

    def _scrambled(self, values):
        return values[np.random.default_rng(0).permutation(len(values))]

    def predict_proba(self, features):
        return self._scrambled(self.estimator.predict_proba(features))

    def predict(self, features):
        return self._scrambled(self.estimator.predict(features))


@pytest.fixture(scope="module")
def model(model_dir):
    return model_fn(str(model_dir))


@pytest.fixture(scope="module")
def scrambled(model):
    return replace(model, estimator=Scrambled(model.estimator))


def compared(challenger, champion_model, test, version=3) -> dict:
    found = None if champion_model is None else Champion(version, f"arn:{version}", champion_model)
    return evaluate(challenger, test, found)[settings.COMPARISON_KEY]


def test_an_equal_challenger_is_not_worse(model, splits):
    comparison = compared(model, model, splits["test"])
    assert comparison["difference"] == comparison["difference_lower_bound"] == 0
    assert comparison["challenger"] == comparison["champion"]
    assert comparison["not_worse"] is True
    assert comparison["champion_version"] == 3 and comparison["champion_package"] == "arn:3"
    assert "of champion version 3:" in comparison["summary"]
    assert "within the tolerance" in comparison["summary"]


def test_a_better_challenger_is_not_worse(model, scrambled, splits):
    comparison = compared(model, scrambled, splits["test"])
    assert comparison["challenger"] > comparison["champion"]
    assert 0 < comparison["difference_lower_bound"] < comparison["difference"]
    assert comparison["not_worse"] is True


def test_a_worse_challenger_is_worse_and_the_summary_names_both_values(model, scrambled, splits):
    comparison = compared(scrambled, model, splits["test"])
    bound = comparison["difference_lower_bound"]
    assert bound < comparison["difference"] < 0
    assert bound < -settings.CHAMPION_TOLERANCE
    assert comparison["not_worse"] is False
    summary = comparison["summary"]
    assert f"{settings.PRIMARY_METRIC} {comparison['challenger']:.4f}" in summary
    assert f"against {comparison['champion']:.4f} of champion version 3" in summary
    assert f"lower bound {bound:+.4f}" in summary and "beyond the tolerance" in summary
    # The registered version's metadata holds the same, as SageMaker allows it to be spelt.
    assert comparison["registry_summary"] == metadata_text(summary)
    assert "95 percent one-sided" in comparison["registry_summary"]


def test_the_tolerance_and_the_confidence_come_from_settings(model, scrambled, splits, monkeypatch):
    strict = compared(scrambled, model, splits["test"])
    monkeypatch.setattr(settings, "CHAMPION_TOLERANCE", -strict["difference_lower_bound"] + 0.001)
    assert compared(scrambled, model, splits["test"])["not_worse"] is True
    monkeypatch.setattr(settings, "CHAMPION_CONFIDENCE", 0.999)
    surer = compared(scrambled, model, splits["test"])
    assert surer["difference_lower_bound"] < strict["difference_lower_bound"]
    assert surer["confidence"] == 0.999


def test_with_no_champion_the_threshold_decides_alone(model, splits):
    comparison = compared(model, None, splits["test"])
    assert comparison["not_worse"] is True
    assert comparison["champion"] is None and comparison["difference"] is None
    assert comparison["champion_package"] == "none"
    assert "threshold decides alone" in comparison["summary"]
    report = evaluate(model, splits["test"])
    assert comparison["challenger"] == report[settings.REPORT_KEY][settings.PRIMARY_METRIC]["value"]


def test_the_champion_scores_the_features_it_was_trained_on(model, splits):
    """A challenger with a feature more is still compared: the champion reads its own."""
    test = splits["test"].assign(new_feature=1.0)
    assert compared(model, model, test)["difference"] == 0
    retired = replace(model, features=(*model.features, "retired_feature"))
    needs = r"champion version 3 needs feature\(s\) retired_feature"
    with pytest.raises(ChampionError, match=needs):
        compared(model, retired, splits["test"])


def approved_versions(registry_dir, model_dir, statuses):
    """A local registry group whose versions have these statuses, each holding the model."""
    for version, status in enumerate(statuses, start=1):
        version_dir = registry_dir / GROUP / str(version)
        shutil.copytree(model_dir, version_dir / registry.MODEL_DIR)
        package = {
            "ModelApprovalStatus": status,
            "ModelPackageVersion": version,
            "ModelPackageArn": f"arn:aws:sagemaker:::model-package/{GROUP}/{version}",
        }
        (version_dir / registry.PACKAGE_FILE).write_text(json.dumps(package))
    return registry_dir


def local(registry_dir) -> dict:
    return {settings.LOCAL_REGISTRY_VARIABLE: str(registry_dir)}


STATUSES = ["Approved", "Approved", "PendingManualApproval", "Rejected"]


def test_the_local_champion_is_the_newest_approved_version(tmp_path, model_dir, model, splits):
    registry_dir = approved_versions(tmp_path, model_dir, STATUSES)
    found = champion.find(GROUP, tmp_path / "scratch", local(registry_dir))
    assert found.version == 2 and found.arn.endswith(f"/{GROUP}/2")
    features, _ = features_and_target(splits["test"])
    assert np.array_equal(predict_array(found.model, features), predict_array(model, features))


def test_no_approved_version_is_no_champion(tmp_path, model_dir):
    registry_dir = approved_versions(tmp_path, model_dir, ["PendingManualApproval", "Rejected"])
    assert champion.find(GROUP, tmp_path / "scratch", local(registry_dir)) is None
    assert champion.find("no-such-group", tmp_path / "scratch", local(registry_dir)) is None


def test_a_local_champion_without_its_model_is_one_clear_error(tmp_path, model_dir):
    registry_dir = approved_versions(tmp_path, model_dir, STATUSES)
    shutil.rmtree(registry_dir / GROUP / "2" / registry.MODEL_DIR)
    with pytest.raises(ChampionError) as error:
        champion.find(GROUP, tmp_path / "scratch", local(registry_dir))
    message = str(error.value)
    assert message.startswith(f"champion {GROUP} version 2: ") and "\n" not in message
    assert "reject the version" in message


@pytest.fixture
def sagemaker_group(mock_aws_account, model_dir, tmp_path):
    """A model package group in moto whose versions have STATUSES, their archives in S3."""
    import boto3

    config = mock_aws_account
    sagemaker_client = boto3.client("sagemaker", region_name=config.region)
    s3_client = boto3.client("s3", region_name=config.region)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in model_dir.iterdir():
            tar.add(path, arcname=path.name)
    sagemaker_client.create_model_package_group(ModelPackageGroupName=GROUP)
    bucket = config.names["artifact_bucket"]
    for version, status in enumerate(STATUSES, start=1):
        key = f"{config.use_case}/main/run{version}/train/model.tar.gz"
        s3_client.upload_file(str(archive), bucket, key)
        sagemaker_client.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{bucket}/{key}"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )
    return sagemaker_client, s3_client, bucket


def test_in_sagemaker_the_champion_is_the_newest_approved_package(
    sagemaker_group, tmp_path, model, splits, monkeypatch
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", settings.load().region)
    found = champion.find(GROUP, tmp_path / "scratch", environ={})
    assert found.version == 2 and found.arn.endswith(f":model-package/{GROUP}/2")
    features, _ = features_and_target(splits["test"])
    assert np.array_equal(predict_array(found.model, features), predict_array(model, features))


def test_in_sagemaker_a_champion_whose_archive_is_gone_is_one_clear_error(
    sagemaker_group, tmp_path
):
    sagemaker_client, s3_client, bucket = sagemaker_group
    key = f"{settings.load().use_case}/main/run2/train/model.tar.gz"
    s3_client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ChampionError) as error:
        champion.from_sagemaker(sagemaker_client, s3_client, GROUP, tmp_path)
    message = str(error.value)
    assert message.startswith(f"champion {GROUP} version 2: its model s3://{bucket}/{key}")
    assert "\n" not in message


def test_a_lookup_sagemaker_refuses_is_one_clear_error(no_aws_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", settings.load().region)
    with pytest.raises(ChampionError) as error:
        champion.find(GROUP, tmp_path, environ={})
    assert str(error.value).startswith(f"cannot look up the champion in {GROUP}: ")
    assert settings.LOCAL_REGISTRY_VARIABLE in str(error.value)


def run_evaluate(tmp_path, model_dir, splits, registry_dir, monkeypatch) -> int:
    monkeypatch.setenv(settings.LOCAL_REGISTRY_VARIABLE, str(registry_dir))
    test_dir = tmp_path / "test"
    test_dir.mkdir(exist_ok=True)
    splits["test"].to_csv(test_dir / "test.csv", index=False)
    arguments = ["--model-dir", model_dir, "--test-dir", test_dir, "--champion-group", GROUP]
    return evaluate_entry([str(arg) for arg in [*arguments, "--output-dir", tmp_path / "out"]])


def test_the_entry_point_records_the_comparison(tmp_path, model_dir, splits, monkeypatch, capsys):
    registry_dir = approved_versions(tmp_path / "registry", model_dir, STATUSES)
    assert run_evaluate(tmp_path, model_dir, splits, registry_dir, monkeypatch) == 0
    report = json.loads((tmp_path / "out" / settings.REPORT_FILE).read_text())
    comparison = report[settings.COMPARISON_KEY]
    assert comparison["champion_version"] == 2 and comparison["not_worse"] is True
    assert f"evaluate: {comparison['summary']}\n" in capsys.readouterr().out


def test_the_entry_point_stops_when_the_champion_cannot_be_read(
    tmp_path, model_dir, splits, monkeypatch, capsys
):
    registry_dir = approved_versions(tmp_path / "registry", model_dir, STATUSES)
    (registry_dir / GROUP / "2" / registry.MODEL_DIR / "model.json").unlink()
    with pytest.raises(SystemExit) as exit_info:
        run_evaluate(tmp_path, model_dir, splits, registry_dir, monkeypatch)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"evaluate: error: champion {GROUP} version 2: ")
    assert error.count("\n") == 1
    assert not (tmp_path / "out").exists()
