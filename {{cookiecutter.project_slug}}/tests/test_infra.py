"""infra/: templates whose every name and parameter comes from settings and naming.

cfn-lint and checkov check them in `make lint-infra` (which `make test` runs first).
"""

import re

import pytest
from cfn_templates import (
    INFRA_DIR,
    TEMPLATES,
    created_resources,
    load,
    pseudo_parameters,
)

from {{ cookiecutter.package_name }} import naming, settings
from {{ cookiecutter.package_name }}.deploy import stacks

# Properties that name a resource AWS creates: each must be a parameter, never typed here.
NAME_PROPERTIES = {
    "AlarmName",
    "AliasName",
    "BucketName",
    "ConnectionName",
    "EndpointName",
    "ModelPackageGroupName",
    "Name",
    "PolicyName",
    "RoleName",
}
MAIN = settings.load({"BRANCH_NAME": "main"})


def test_make_lint_infra_lints_in_the_projects_region():
    makefile = (INFRA_DIR.parent / "Makefile").read_text()
    assert re.findall(r"^INFRA_REGION := (\S+)$", makefile, re.MULTILINE) == [settings.AWS_REGION]
    assert "cfn-lint infra/*.yml --regions $(INFRA_REGION)" in makefile


def required_parameters(template: dict) -> set[str]:
    return {name for name, spec in template["Parameters"].items() if "Default" not in spec}


def test_stack_parameters_give_each_bootstrap_template_what_it_needs():
    cicd = load("cicd.yml")
    given = stacks.cicd(MAIN, "example-org/example-repo")
    assert required_parameters(cicd) <= set(given) <= set(cicd["Parameters"])
    target = load("target-account.yml")
    given = stacks.target_account(MAIN, MAIN.staging_account_id)
    assert required_parameters(target) == set(given) == set(target["Parameters"])


def test_stack_parameters_refuse_an_account_that_is_no_stage():
    with pytest.raises(settings.SettingsError, match="neither the staging"):
        stacks.target_account(
            settings.load(
                {"BRANCH_NAME": "main", "STAGING_ACCOUNT_ID": "2" * 12, "PROD_ACCOUNT_ID": "3" * 12}
            ),
            "4" * 12,
        )


@pytest.mark.parametrize(
    ("provider", "valid", "invalid"),
    [
        ("github", ["acme/churn", "acme-labs/churn.v2"], ["acme", "-acme/churn", "a/b/c"]),
        ("gitlab", ["acme/churn", "acme/ml/churn"], ["acme", "acme/"]),
        ("bitbucket", ["acme/churn", "acme_team/churn"], ["acme", "a/b/c"]),
        ("codecommit", ["churn", "churn.models_2"], ["acme/churn", "c" * 101]),
    ],
)
def test_repository_ids_follow_their_providers_form(provider, valid, invalid):
    common_mistakes = ["https://github.com/acme/churn", "acme/my churn", "acme/churné", ""]
    assert [naming.repository_problem(provider, id) for id in valid] == [None] * len(valid)
    for id in invalid + common_mistakes:
        assert "is no" in naming.repository_problem(provider, id), id


def test_stack_parameters_refuse_a_repository_in_one_line(capsys):
    from {{ cookiecutter.package_name }}.deploy.__main__ import main

    assert main(["stack-parameters", "cicd", "--repository", "acme/my churn"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("deploy: error: --repository 'acme/my churn'") and "\n" not in error
    assert naming.REPOSITORY_FORMS[settings.GIT_PROVIDER][0] in error


# Names inside a resource (pipeline stages and actions, metric dimensions, variables, a role's
# inline policies).
INNER_NAMES = {"Stages", "Dimensions", "EnvironmentVariables", "Variables", "Policies"}
# The only actions granted on every resource: none of them has resource-level permissions.
ACTIONS_WITHOUT_RESOURCES = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScalingActivities",
}


def resource_names(properties: dict, path=()):
    """Every (path, value) under `properties` that names something AWS creates."""
    items = properties.items() if isinstance(properties, dict) else enumerate(properties)
    for key, item in items:
        if key in INNER_NAMES:
            continue
        if key in NAME_PROPERTIES and not isinstance(item, list):
            yield (*path, key), item
        elif isinstance(item, dict | list):
            yield from resource_names(item, (*path, key))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_every_resource_name_is_a_parameter(template):
    for resource_name, resource in load(template.name)["Resources"].items():
        for path, value in resource_names(resource.get("Properties", {})):
            assert isinstance(value, dict) and set(value) == {"Ref"}, (
                f"{template.name}: {resource_name}.{'.'.join(map(str, path))} is {value!r}; "
                "take it as a parameter (deploy/stacks.py or deploy/release.py)"
            )


def test_every_name_fits_aws_limits_at_the_longest_use_case():
    longest = naming.longest_use_case(settings.DEV_ACCOUNT_ID, settings.AWS_REGION)
    for branch in ("main", "dev", "feature/" + "x" * 40):
        names = naming.derive_names(
            "x" * longest, branch, settings.DEV_ACCOUNT_ID, settings.AWS_REGION
        )
        assert [name.problem() for name in names.values() if name.problem()] == []
    too_long = naming.derive_names(
        "x" * (longest + 1), "feature/x", settings.DEV_ACCOUNT_ID, settings.AWS_REGION
    )
    assert any(name.problem() for name in too_long.values())
    assert len(naming.connection_name("x" * longest)) <= naming.CONNECTION.max_length


def policy_statements(value):
    """Every IAM policy statement under `value`: role policies and resource policies."""
    if isinstance(value, dict):
        if "Effect" in value and "Action" in value:
            yield value
        for item in value.values():
            yield from policy_statements(item)
    elif isinstance(value, list):
        for item in value:
            yield from policy_statements(item)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_no_action_everywhere_and_every_resource_only_where_it_must(template):
    for statement in policy_statements(load(template.name)["Resources"]):
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        assert "*" not in actions, statement
        # In a key or bucket policy (it has a Principal) "*" is that key or bucket itself.
        if statement.get("Resource") == "*" and "Principal" not in statement:
            assert set(actions) <= ACTIONS_WITHOUT_RESOURCES, statement


def test_single_account_holds_dev_staging_and_prod_without_clashes():
    """One account for all three: both bootstrap stacks and both endpoint stacks, no name twice."""
    one = settings.load(
        {
            "BRANCH_NAME": "main",
            "STAGING_ACCOUNT_ID": settings.DEV_ACCOUNT_ID,
            "PROD_ACCOUNT_ID": settings.DEV_ACCOUNT_ID,
        }
    )
    pseudo = pseudo_parameters(one.dev_account_id, one.region)
    made = []
    for name, parameters in (
        ("cicd.yml", stacks.cicd(one, "org/repo")),
        ("target-account.yml", stacks.target_account(one, one.dev_account_id)),
    ):
        template = load(name)
        defaults = {key: spec.get("Default") for key, spec in template["Parameters"].items()}
        for resource in created_resources(template, {**defaults, **parameters, **pseudo}).values():
            made += [
                (resource["Type"], value) for _, value in resource_names(resource["Properties"])
            ]
    assert len(made) == len(set(made)), sorted(made)
    buckets = [value for kind, value in made if kind == "AWS::S3::Bucket"]
    assert (
        one.capture_bucket("staging")
        == one.capture_bucket("prod")
        == one.names["artifact_bucket"]
        in buckets
    )
    assert len(buckets) == 2  # artifact and pipeline buckets; the stages capture into the first
    for stage in naming.STAGES:
        assert one.names[f"{stage}_endpoint"] not in {
            one.names[f"{other}_endpoint"] for other in naming.STAGES if other != stage
        }


def build_environments(config: settings.Settings) -> dict[str, dict[str, str]]:
    """Each CodeBuild project's environment variables, as cicd.yml would create them."""
    template = load("cicd.yml")
    defaults = {key: spec.get("Default") for key, spec in template["Parameters"].items()}
    parameters = {
        **defaults,
        **stacks.cicd(config, "org/repo"),
        **pseudo_parameters(config.dev_account_id, config.region),
    }
    return {
        name: {
            variable["Name"]: variable["Value"]
            for variable in resource["Properties"]["Environment"]["EnvironmentVariables"]
            if variable != "AWS::NoValue"
        }
        for name, resource in created_resources(template, parameters).items()
        if resource["Type"] == "AWS::CodeBuild::Project"
    }


def test_builds_run_with_the_names_of_their_sagemaker_project():
    """Seed code from SageMaker Projects learns its project and accounts from its builds."""
    project = settings.load(
        {
            "BRANCH_NAME": "main",
            "SAGEMAKER_PROJECT_NAME": "Churn",
            "SAGEMAKER_PROJECT_ID": "p-abcdefghijkl",
            "PROD_ACCOUNT_ID": "333333333333",
        }
    )
    for variables in build_environments(project).values():
        assert settings.load({**variables, "BRANCH_NAME": "main"}).names == project.names
        assert variables["SAGEMAKER_PROJECT_NAME"] == "Churn"
    for variables in build_environments(MAIN).values():
        assert not {"SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID"} & set(variables)
        assert variables["DEV_ACCOUNT_ID"] == settings.DEV_ACCOUNT_ID


def cicd_resources(**overrides: str) -> dict[str, dict]:
    """What cicd.yml creates with the project's parameters, and `overrides`."""
    template = load("cicd.yml")
    defaults = {key: spec.get("Default") for key, spec in template["Parameters"].items()}
    parameters = {
        **defaults,
        **stacks.cicd(MAIN, "org/repo"),
        **pseudo_parameters(MAIN.dev_account_id, MAIN.region),
        **overrides,
    }
    return created_resources(template, parameters)


def tracking_statement(resources: dict) -> dict:
    role = resources["SageMakerExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [statement] = [s for s in role["Statement"] if s.get("Sid") == "Tracking"]
    return statement


def test_the_ci_creates_an_mlflow_app_its_jobs_may_log_to_and_its_builds_name():
    resources = cicd_resources()
    app = resources["MlflowApp"]["Properties"]
    assert app["Name"] == MAIN.names["mlflow_app"]
    assert app["ArtifactStoreUri"] == f"s3://ArtifactBucket/{MAIN.use_case}/mlflow"
    assert app["RoleArn"] == "MlflowRole.Arn"
    store_role = resources["MlflowRole"]["Properties"]
    assert store_role["RoleName"] == MAIN.names["mlflow_role"]
    [grant] = [
        s
        for s in store_role["Policies"][0]["PolicyDocument"]["Statement"]
        if s["Sid"] == "Artifacts"
    ]
    assert grant["Resource"] == f"ArtifactBucket.Arn/{MAIN.use_case}/mlflow/*"
    statement = tracking_statement(resources)
    assert statement["Resource"] == "MlflowApp.Arn"  # that app, no other
    assert {"sagemaker:CallMlflowAppApi", "sagemaker-mlflow:LogBatch"} <= set(statement["Action"])
    assert build_environments(MAIN)["TrainProject"]["MLFLOW_TRACKING_ARN"] == "MlflowApp.Arn"


def test_a_team_with_an_mlflow_server_of_its_own_names_it_instead():
    arn = "arn:aws:sagemaker:us-east-1:111111111111:mlflow-tracking-server/team-mlflow"
    resources = cicd_resources(MlflowTrackingArn=arn)
    assert "MlflowApp" not in resources and "MlflowRole" not in resources
    assert tracking_statement(resources)["Resource"] == arn
    variables = resources["TrainProject"]["Properties"]["Environment"]["EnvironmentVariables"]
    assert {"Name": "MLFLOW_TRACKING_ARN", "Value": arn} in variables
    pattern = load("cicd.yml")["Parameters"]["MlflowTrackingArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, arn) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "http://mlflow.example")
