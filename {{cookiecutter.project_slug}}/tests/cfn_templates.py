"""Reading the project's CloudFormation as CloudFormation would, for the tests.

`load` parses a template with cfn-lint's decoder (which knows !Ref, !Sub and the rest);
`resolve` evaluates Ref, Fn::Sub, Fn::If and Fn::GetAtt of a value with given parameters, so a
test can assert the ARNs and names a stack would really create. `delivered` tells which events
an EventBridge rule's pattern lets through, by delivering them (moto decides nothing in
test_event_pattern).
"""

import json
import re
from pathlib import Path

from cfnlint.decode import decode

INFRA_DIR = Path(__file__).resolve().parent.parent / "infra"
TEMPLATES = sorted(INFRA_DIR.glob("*.yml"))


def load(name: str) -> dict:
    template, problems = decode(str(INFRA_DIR / name))
    assert not problems, problems
    return template


def pseudo_parameters(account: str, region: str) -> dict[str, str]:
    return {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}


def resolve(value, parameters: dict, template: dict | None = None):
    """`value` with every intrinsic function CloudFormation would evaluate, evaluated.

    A resource's Ref or GetAtt becomes "<resource>" or "<resource>.<attribute>"; conditions come
    from `template`'s Conditions (only Equals, Not and And of them).
    """
    if isinstance(value, list):
        return [resolve(item, parameters, template) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return parameters.get(value["Ref"], value["Ref"])
    if set(value) == {"Fn::GetAtt"}:
        attribute = value["Fn::GetAtt"]
        return ".".join(attribute) if isinstance(attribute, list) else attribute
    if set(value) == {"Fn::Sub"}:
        text, variables = value["Fn::Sub"], {}
        if isinstance(text, list):
            text, variables = text[0], resolve(text[1], parameters, template)
        known = {**parameters, **variables}
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(known.get(m.group(1), m.group(1))), text)
    if set(value) == {"Fn::If"}:
        condition, when_true, when_false = value["Fn::If"]
        chosen = when_true if condition_holds(condition, parameters, template) else when_false
        return resolve(chosen, parameters, template)
    return {key: resolve(item, parameters, template) for key, item in value.items()}


def condition_holds(name: str, parameters: dict, template: dict) -> bool:
    def evaluate(expression) -> bool:
        if "Fn::Not" in expression:
            return not evaluate(expression["Fn::Not"][0])
        if "Fn::And" in expression:
            return all(evaluate(part) for part in expression["Fn::And"])
        if "Fn::Equals" in expression:
            left, right = resolve(expression["Fn::Equals"], parameters, template)
            return left == right
        if "Condition" in expression:
            return condition_holds(expression["Condition"], parameters, template)
        raise AssertionError(f"condition {expression} is not one the tests evaluate")

    return evaluate(template["Conditions"][name])


def created_resources(template: dict, parameters: dict) -> dict[str, dict]:
    """The resources a stack with `parameters` creates (their conditions hold), resolved."""
    return {
        name: resolve(resource, parameters, template)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource
        or condition_holds(resource["Condition"], parameters, template)
    }


def configuration_problems(template: dict, given: dict) -> list[str]:
    """Why the template configuration parameters `given` would not fit `template`: a required
    parameter missing, one the template lacks, a value that is not text or not allowed."""
    specs = template["Parameters"]
    problems = [f"{name} is missing" for name, spec in specs.items() if "Default" not in spec]
    problems = [problem for problem in problems if problem.split()[0] not in given]
    for name, value in given.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"{name}: the template has no such parameter")
        elif not isinstance(value, str):
            problems.append(f"{name}: template configurations hold strings, not {value!r}")
        elif value not in spec.get("AllowedValues", [value]):
            problems.append(f"{name}={value} is not one of {spec['AllowedValues']}")
        elif spec["Type"] == "Number":
            low, high = spec.get("MinValue", float("-inf")), spec.get("MaxValue", float("inf"))
            if not low <= float(value) <= high:
                problems.append(f"{name}={value} is not from {low} to {high}")
    return problems


def defaults(template: dict) -> dict:
    return {key: spec.get("Default") for key, spec in template["Parameters"].items()}


def alarm_event(alarm_arn: str, state: str) -> dict:
    name = alarm_arn.rpartition(":")[2]
    detail = {"alarmName": name, "state": {"value": state}, "previousState": {"value": "OK"}}
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Resources": [alarm_arn],
        "Detail": json.dumps(detail),
    }


def delivered(pattern: dict, sent: list[dict], region: str) -> list[tuple[str, str]]:
    """The (alarm name, state) of the `sent` events that a rule of `pattern` delivers to a queue,
    in the AWS (moto) of the caller's account."""
    import boto3

    events, sqs = (boto3.client(service, region_name=region) for service in ("events", "sqs"))
    queue = sqs.create_queue(QueueName=f"q{abs(hash(json.dumps(pattern)))}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    rule = f"r{abs(hash(queue))}"
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": arn}])
    assert events.put_events(Entries=sent)["FailedEntryCount"] == 0
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [
        (
            json.loads(m["Body"])["detail"]["alarmName"],
            json.loads(m["Body"])["detail"]["state"]["value"],
        )
        for m in received
    ]
