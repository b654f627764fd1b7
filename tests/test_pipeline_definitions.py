"""Every problem type x framework builds a SageMaker Pipeline definition with no AWS account."""

import json
import os
import subprocess

import pytest

import harness

IMAGE_REPOSITORIES = {"sklearn": "sagemaker-scikit-learn", "xgboost": "sagemaker-xgboost"}
METRIC_PATHS = {
    "binary_classification": "binary_classification_metrics.auc.value",
    "regression": "regression_metrics.r2.value",
}


def definition_of(project, python) -> dict:
    """`python -m <package>.pipeline definition` with no credentials, region or endpoint."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        PYTHONPATH=str(project / "src"),
        BRANCH_NAME="main",
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        HTTPS_PROXY="http://127.0.0.1:9",  # the SDK's telemetry meets a closed local port
    )
    command = [str(python), "-m", "customer_churn.pipeline", "definition"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("answers", harness.COMBINATIONS, ids=lambda answers: "-".join(answers.values()))
def test_definition_builds_for_each_combination(render, project_python, answers):
    built = definition_of(render(**answers), project_python(answers["model_framework"]))
    steps = {step["Name"]: step for step in built["Steps"]}
    assert list(steps) == ["Preprocess", "Train", "Evaluate", "Baseline", "QualityGate"]
    repository = IMAGE_REPOSITORIES[answers["model_framework"]]
    train_image = steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert f"/{repository}:" in train_image
    # Every job runs in the framework's image: one image holds every job's library versions.
    for name in ("Preprocess", "Evaluate", "Baseline"):
        assert f"/{repository}:" in steps[name]["Arguments"]["AppSpecification"]["ImageUri"]
    threshold, champion, bias = steps["QualityGate"]["Arguments"]["Conditions"]
    assert threshold["LeftValue"]["Std:JsonGet"]["Path"] == METRIC_PATHS[answers["problem_type"]]
    assert champion["LeftValue"]["Std:JsonGet"]["Path"] == "champion_comparison.not_worse"
    assert bias["LeftValue"]["Std:JsonGet"]["Path"] == "gate.passes"
    register, track = steps["QualityGate"]["Arguments"]["IfSteps"]
    assert track["Name"] == "Track" and f"/{repository}:" in track["Arguments"]["AppSpecification"]["ImageUri"]
    serving_image = register["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert f"/{repository}:" in serving_image
    parameters = {parameter["Name"]: parameter["DefaultValue"] for parameter in built["Parameters"]}
    assert parameters["QualityThreshold"] == {"binary_classification": 0.9, "regression": 0.3}[answers["problem_type"]]
    assert parameters["ModelApprovalStatus"] == "PendingManualApproval"
