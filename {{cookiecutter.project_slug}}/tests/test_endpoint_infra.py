"""infra/endpoint.yml and the stage files' endpoint part, read as CloudFormation would create them.

Each stage's configuration fits the template; each stage captures data and takes a canary that
is a real share of its fleet; the endpoint rolls back a canary on its own alarms.
"""

import json
import math

import pytest
from cfn_templates import configuration_problems, created_resources, load

from {{ cookiecutter.package_name }} import naming, settings
from {{ cookiecutter.package_name }}.deploy import release

MAIN = settings.load({"BRANCH_NAME": "main"})


@pytest.mark.parametrize("stage", naming.STAGES)
def test_stage_configurations_fit_the_endpoint_template(stage):
    package = {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:111111111111:model-package/g/3",
        "ModelPackageVersion": 3,
    }
    configuration = release.stage_configuration(MAIN, stage, package, "0" * 40, settings.STAGES_DIR)
    assert configuration_problems(load("endpoint.yml"), configuration["Parameters"]) == []
    assert configuration["Tags"]["stage"] == stage


@pytest.mark.parametrize("stage", naming.STAGES)
def test_each_stage_captures_data_and_its_canary_is_a_real_share(stage):
    parameters = json.loads((settings.STAGES_DIR / f"{stage}.json").read_text())["Parameters"]
    assert 0 < int(parameters["CapturePercent"]) <= 100
    instances = int(parameters["InstanceCount"])
    canary = math.ceil(instances * int(parameters["CanaryPercent"]) / 100)
    assert 1 <= canary <= instances / 2, "SageMaker needs a canary of at most half the fleet"
    assert parameters["Autoscaling"] == ("true" if stage == "prod" else "false")
    if stage == "prod":
        assert int(parameters["MinInstances"]) == instances <= int(parameters["MaxInstances"])


def test_endpoint_takes_a_canary_that_rolls_back_on_its_own_alarms():
    template = load("endpoint.yml")
    parameters = {"ErrorsAlarmName": "errors", "LatencyAlarmName": "latency", "Autoscaling": "true"}
    resources = created_resources(template, parameters)
    deployment = resources["Endpoint"]["Properties"]["DeploymentConfig"]
    assert deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    alarms = {alarm["AlarmName"] for alarm in deployment["AutoRollbackConfiguration"]["Alarms"]}
    created_alarms = {
        resource["Properties"]["AlarmName"]: resource["Properties"]["MetricName"]
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert created_alarms == {"errors": "Invocation5XXErrors", "latency": "ModelLatency"}
    assert alarms == set(created_alarms)
    config = resources["EndpointConfig"]["Properties"]
    assert config["KmsKeyId"] == config["DataCaptureConfig"]["KmsKeyId"] == "EndpointKeyArn"
    modes = {option["CaptureMode"] for option in config["DataCaptureConfig"]["CaptureOptions"]}
    assert modes == {"Input", "Output"}
    assert "ScalableTarget" in resources
    assert "ScalableTarget" not in created_resources(
        template, {**parameters, "Autoscaling": "false"}
    )
