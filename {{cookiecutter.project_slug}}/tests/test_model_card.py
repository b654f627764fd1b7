"""Every registered version's model card: its content, its requests, and its status over time."""

import json
import types

import boto3
import pytest
from botocore.stub import Stubber
from cfn_templates import load
from conftest import require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.evaluate import card
from {{ cookiecutter.package_name }}.evaluate.documents import evaluation
from {{ cookiecutter.package_name }}.infer.handler import model_fn
from {{ cookiecutter.package_name }}.pipeline import registry
from {{ cookiecutter.package_name }}.tracking import __main__ as track

ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package/customer-churn/3"
LINEAGE = {
    "git-commit": "0123456789abcdef0123456789abcdef01234567",
    "data-digest": "ab" * 32,
    "input-data": "s3://bucket/use-case/input-data/2026-12-01/",
    "model-artifact": "s3://bucket/use-case/main/exec/train/model.tar.gz",
    "pipeline-execution": "arn:aws:sagemaker:us-east-1:111111111111:pipeline/p/execution/e",
}


@pytest.fixture(autouse=True)
def no_champion(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.LOCAL_REGISTRY_VARIABLE, str(tmp_path / "registry"))


@pytest.fixture(scope="module")
def found(model_dir, splits):
    return evaluation(model_fn(str(model_dir)), splits["test"], None, {"max_depth": 3}, LINEAGE)


@pytest.fixture(scope="module")
def written(found) -> dict:
    return json.loads(found.files()[card.CARD_FILE])


def test_the_card_says_what_the_version_is_for_how_it_was_made_and_how_it_did(found, written):
    content = json.loads(written["content"])
    assert written["status"] == "PendingReview"
    intended_use = " ".join(settings.INTENDED_USE_FILE.read_text().split())
    assert content["intended_uses"]["intended_uses"] == intended_use
    assert content["model_overview"]["model_artifact"] == [LINEAGE["model-artifact"]]
    training = content["training_details"]
    hyperparameters = training["training_job_details"]["hyper_parameters"]
    assert {"name": "max_depth", "value": "3"} in hyperparameters
    assert LINEAGE["data-digest"] in training["training_observations"]
    [evaluated] = content["evaluation_details"]
    groups = {group["name"]: group["metric_data"] for group in evaluated["metric_groups"]}
    assert settings.PRIMARY_METRIC in {metric["name"] for metric in groups["quality"]}
    assert groups["feature importance"] and groups["champion comparison"]
    assert content["additional_information"]["custom_details"] == dict(sorted(LINEAGE.items()))
    ethics = content["additional_information"]["ethical_considerations"]
    assert ethics == found.bias["gate"]["summary"]


@pytest.mark.usefixtures("no_sdk_telemetry")
def test_the_card_fits_sagemakers_model_card_schema(written):
    require_sdk()
    from sagemaker.core.shapes import model_card_shapes as shapes

    content = json.loads(written["content"])
    shapes.ModelCardContent.model_validate(content)
    # A model package's card: its overview holds only the creator and the artifact.
    assert set(content["model_overview"]) <= {"model_creator", "model_artifact"}
    assert len(written["content"]) <= 100_000


def test_the_markdown_card_follows_the_content_and_its_status(written):
    content = json.loads(written["content"])
    text = card.markdown(card.with_run(content, "run-1", "experiment-1"), "Approved")
    assert text.startswith(f"# Model card: {settings.PROJECT_SLUG}\n\nStatus: Approved\n")
    for heading in ("## Intended use", "## Training", "## Evaluation on the test split", "## Bias"):
        assert f"\n{heading}\n" in text
    assert "- mlflow-run-id: run-1" in text and f"- git-commit: {LINEAGE['git-commit']}" in text


def registered_version(tmp_path, written) -> tuple:
    """A version in a local registry with the card Register files."""
    version_dir = tmp_path / "registry" / "group" / "1"
    version_dir.mkdir(parents=True)
    package = {
        "ModelPackageArn": ARN,
        "ModelApprovalStatus": settings.PENDING_APPROVAL,
        "ModelCard": {"ModelCardContent": written["content"], "ModelCardStatus": written["status"]},
    }
    (version_dir / registry.PACKAGE_FILE).write_text(json.dumps(package))
    return version_dir


@pytest.mark.parametrize(
    ("decision", "status"), [("Approved", "Approved"), ("Rejected", "Archived")]
)
def test_a_local_decision_moves_the_card(tmp_path, written, decision, status):
    version_dir = registered_version(tmp_path, written)
    package = registry.set_status(version_dir, decision, None)
    assert package["ModelCard"]["ModelCardStatus"] == status == card.CARD_STATUS[decision]
    assert f"Status: {status}\n" in (version_dir / card.MARKDOWN_FILE).read_text()


def stubbed_sagemaker(monkeypatch) -> Stubber:
    client = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(client)  # checks every request against botocore's model of the API
    monkeypatch.setattr(boto3, "client", lambda service, **_: client)
    return stubber


def test_track_adds_the_run_to_a_sagemaker_versions_card(written, monkeypatch):
    monkeypatch.delenv(settings.LOCAL_REGISTRY_VARIABLE)
    stubber = stubbed_sagemaker(monkeypatch)
    filed = {"ModelCardContent": written["content"], "ModelCardStatus": "PendingReview"}
    stubber.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "customer-churn",
            "ModelPackageArn": ARN,
            "CreationTime": "2026-12-06T00:00:00Z",
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "ModelCard": filed,
        },
        {"ModelPackageName": ARN},
    )
    expected = card.encoded(card.with_run(json.loads(written["content"]), "run-1", "exp"))
    stubber.add_response(
        "update_model_package",
        {"ModelPackageArn": ARN},
        {
            "ModelPackageArn": ARN,
            "CustomerMetadataProperties": {"mlflow-run-id": "run-1", "mlflow-experiment": "exp"},
            "ModelCard": {"ModelCardContent": expected, "ModelCardStatus": "PendingReview"},
        },
    )
    with stubber:
        track.name_run_on_package(ARN, "run-1", "exp")
    stubber.assert_no_pending_responses()


def card_function() -> types.ModuleType:
    """infra/cicd.yml's model card function, its inline code run here."""
    code = load("cicd.yml")["Resources"]["ModelCardFunction"]["Properties"]["Code"]["ZipFile"]
    module = types.ModuleType("model_card_function")
    exec(code, module.__dict__)
    return module


def test_the_ci_function_maps_decisions_as_the_local_registry_does():
    mapped = card_function().CARD_STATUS
    assert mapped == {status: card.CARD_STATUS[status] for status in ("Approved", "Rejected")}


def described(approval: str, card_status: str | None) -> dict:
    response = {
        "ModelPackageName": "customer-churn",
        "ModelPackageArn": ARN,
        "CreationTime": "2026-12-06T00:00:00Z",
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "ModelApprovalStatus": approval,
    }
    if card_status:
        response["ModelCard"] = {"ModelCardContent": "{}", "ModelCardStatus": card_status}
    return response


@pytest.mark.parametrize(
    ("approval", "card_status", "updated_to"),
    [
        ("Approved", "PendingReview", "Approved"),
        ("Rejected", "PendingReview", "Archived"),
        ("Rejected", "Approved", "Archived"),
        ("Approved", "Approved", None),  # a repeated event
        ("Approved", "Archived", None),  # an archived card stays
        ("PendingManualApproval", "PendingReview", None),  # a late event: nothing decided
        ("Approved", None, None),  # a version registered before cards
    ],
)
def test_the_ci_function_updates_a_card_only_when_its_version_says_so(
    approval, card_status, updated_to
):
    client = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_model_package", described(approval, card_status), {"ModelPackageName": ARN}
    )
    if updated_to:
        stubber.add_response(
            "update_model_package",
            {"ModelPackageArn": ARN},
            {
                "ModelPackageArn": ARN,
                "ModelCard": {"ModelCardContent": "{}", "ModelCardStatus": updated_to},
            },
        )
    event = {"detail": {"ModelPackageArn": ARN, "ModelApprovalStatus": approval}}
    with stubber:
        result = card_function().handler(event, None, client)
    stubber.assert_no_pending_responses()
    assert result["Updated"] is bool(updated_to)


def test_the_ci_function_hears_both_groups_decisions():
    resources = load("cicd.yml")["Resources"]
    pattern = resources["ModelCardRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    assert pattern["detail"]["ModelPackageGroupName"] == [
        {"Ref": "ModelPackageGroupName"},
        {"Ref": "DevModelPackageGroupName"},
    ]
    permission = resources["ModelCardRulePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
