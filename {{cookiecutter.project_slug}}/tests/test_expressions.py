"""The definition's expressions, evaluated on small hand-written definitions."""

import json

import pytest

from {{ cookiecutter.package_name }}.pipeline.expressions import (
    Execution,
    ExpressionError,
    holds,
    parameter_values,
    resolve,
)

DECLARED = [
    {"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/input/"},
    {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": 1},
    {"Name": "QualityThreshold", "Type": "Float", "DefaultValue": 0.7},
]
OUTPUT_URI = "Steps.Prepare.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"


@pytest.fixture
def execution(tmp_path) -> Execution:
    report = tmp_path / "evaluation.json"
    report.write_text(json.dumps({"metrics": {"auc": {"value": 0.8}}, "folds": [0.5, 0.9]}))
    return Execution(
        parameters=parameter_values(DECLARED, {}),
        variables={"PipelineExecutionId": "abc123"},
        steps={
            "Prepare": {
                "ProcessingOutputConfig": {
                    "Outputs": {"train": {"S3Output": {"S3Uri": "s3://bucket/run/train"}}}
                }
            },
            "Train": {"ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/run/model.tar.gz"}},
        },
        property_files={("Evaluate", "Report"): report},
    )


def json_get(path: str) -> dict:
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Report"},
            "Path": path,
        }
    }


def test_parameters_take_their_defaults_or_the_given_values_as_their_types():
    assert parameter_values(DECLARED, {}) == {
        "InputDataUri": "s3://bucket/input/",
        "InstanceCount": 1,
        "QualityThreshold": 0.7,
    }
    given = parameter_values(DECLARED, {"InstanceCount": "3", "QualityThreshold": "0.9"})
    assert given["InstanceCount"] == 3 and given["QualityThreshold"] == 0.9


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"Threshold": "0.9"}, "Threshold: not a parameter"),
        ({"InstanceCount": "two"}, "InstanceCount: 'two' is no Integer"),
    ],
)
def test_a_wrong_parameter_is_named(given, message):
    with pytest.raises(ExpressionError, match=message):
        parameter_values(DECLARED, given)


def test_get_join_and_json_get_resolve_inside_any_arguments(execution):
    arguments = {
        "Inputs": [{"S3Uri": {"Get": OUTPUT_URI}}],
        "Output": {
            "Std:Join": {
                "On": "/",
                "Values": ["s3://bucket", {"Get": "Execution.PipelineExecutionId"}, "evaluate"],
            }
        },
        "Model": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        "Count": {"Get": "Parameters.InstanceCount"},
        "Auc": json_get("metrics.auc.value"),
        "Fold": json_get("folds[1]"),
    }
    assert resolve(arguments, execution, "Evaluate") == {
        "Inputs": [{"S3Uri": "s3://bucket/run/train"}],
        "Output": "s3://bucket/abc123/evaluate",
        "Model": "s3://bucket/run/model.tar.gz",
        "Count": 1,
        "Auc": 0.8,
        "Fold": 0.9,
    }


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Get": "Parameters.Missing"}, "step Gate: Parameters.Missing is not a parameter"),
        ({"Get": "Steps.Baseline.ProcessingOutputConfig"}, "step Baseline has not run before it"),
        (
            {"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
            "nothing at \"\\['test'\\]\"",
        ),
        (json_get("metrics.accuracy.value"), "nothing at 'accuracy'"),
        ({"Std:Select": {"Array": [], "Index": 0}}, "function Std:Select is not one"),
    ],
)
def test_a_reference_that_resolves_to_nothing_names_the_step_and_the_reference(
    execution, expression, message
):
    with pytest.raises(ExpressionError, match=message):
        resolve({"Value": expression}, execution, "Gate")


def test_a_property_file_no_step_wrote_is_named(execution):
    report = {"Get": "Steps.Train.PropertyFiles.Report"}
    expression = {"Std:JsonGet": {"PropertyFile": report, "Path": "a"}}
    with pytest.raises(ExpressionError, match="step Train wrote no such file"):
        resolve(expression, execution, "Gate")


@pytest.mark.parametrize(("threshold", "expected"), [(0.7, True), (0.81, False)])
def test_a_condition_holds_or_not(execution, threshold, expected):
    execution.parameters["QualityThreshold"] = threshold
    condition = {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": json_get("metrics.auc.value"),
        "RightValue": {"Get": "Parameters.QualityThreshold"},
    }
    assert holds([condition], execution, "Gate") is expected
    assert holds([{"Type": "Not", "Expression": condition}], execution, "Gate") is not expected


def test_an_unknown_condition_is_named(execution):
    with pytest.raises(ExpressionError, match="condition Between is not one"):
        holds([{"Type": "Between"}], execution, "Gate")
