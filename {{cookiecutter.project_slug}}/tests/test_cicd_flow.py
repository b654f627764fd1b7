"""The branch flow, read from infra/cicd.yml as CloudFormation would create it.

Feature branches get CI only; dev and main train; only an approval in main's group (or an
endpoint change on main) deploys, and prod only after staging's integration test and a person.
"""

import json

import boto3
import pytest
from cfn_templates import created_resources, load, pseudo_parameters

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.deploy import stacks

STAGING, PROD = "222222222222", "333333333333"
CONFIG = settings.load(
    {"BRANCH_NAME": "main", "STAGING_ACCOUNT_ID": STAGING, "PROD_ACCOUNT_ID": PROD}
)
CODECOMMIT = settings.GIT_PROVIDER == "codecommit"


@pytest.fixture(scope="module")
def resources() -> dict[str, dict]:
    template = load("cicd.yml")
    parameters = {
        **{key: spec.get("Default") for key, spec in template["Parameters"].items()},
        **stacks.cicd(CONFIG, "example-org/churn"),
        **pseudo_parameters(CONFIG.dev_account_id, CONFIG.region),
    }
    return created_resources(template, parameters)


def pipeline(resources, name_key: str) -> dict:
    name = CONFIG.names.get(name_key, name_key)
    [found] = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CodePipeline::Pipeline" and r["Properties"]["Name"] == name
    ]
    return found


def stage_names(properties: dict) -> list[str]:
    return [stage["Name"] for stage in properties["Stages"]]


def push_branches(properties: dict) -> list[dict]:
    return [
        push["Branches"]
        for trigger in properties.get("Triggers", [])
        for push in trigger["GitConfiguration"].get("Push", [])
    ]


def dev_train(resources) -> dict:
    name = stacks.cicd(CONFIG, "r")["DevTrainPipelineName"]
    return pipeline(resources, name)


def test_every_pipeline_is_v2_with_an_execution_mode_that_fits(resources):
    modes = {
        p["Properties"]["Name"]: p["Properties"]["ExecutionMode"]
        for p in resources.values()
        if p["Type"] == "AWS::CodePipeline::Pipeline"
    }
    assert all(
        p["Properties"]["PipelineType"] == "V2"
        for p in resources.values()
        if p["Type"] == "AWS::CodePipeline::Pipeline"
    )
    assert modes[CONFIG.names["train_codepipeline"]] == "SUPERSEDED"
    assert modes[CONFIG.names["deploy_codepipeline"]] == "QUEUED"
    if not CODECOMMIT:
        assert modes[CONFIG.names["ci_codepipeline"]] == "PARALLEL"


{%- if cookiecutter.git_provider == "codecommit" %}


def test_codecommit_rules_start_ci_and_training_by_branch(resources):
    rules = {
        name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Events::Rule"
    }
    assert rules["TrainOnMainRule"]["EventPattern"]["detail"]["referenceName"] == ["main"]
    assert rules["TrainOnDevRule"]["EventPattern"]["detail"]["referenceName"] == ["dev"]
    work_branches = rules["BranchCiRule"]["EventPattern"]["detail"]["referenceName"]
    assert work_branches == [{"anything-but": ["main", "dev"]}]
    assert rules["BranchCiRule"]["Targets"][0]["Arn"] == "BranchCiProject.Arn"


{%- else %}


def test_feature_branches_and_pull_requests_get_ci_only(resources):
    ci = pipeline(resources, "ci_codepipeline")
    assert stage_names(ci) == ["Source", "CI"]
    assert push_branches(ci) == [{"Includes": ["**"], "Excludes": ["main", "dev"]}]
    [trigger] = ci["Triggers"]
    assert trigger["GitConfiguration"]["PullRequest"][0]["Events"] == ["OPEN", "UPDATED"]
    # Nothing else starts on a work branch.
    others = [
        p["Properties"]
        for p in resources.values()
        if p["Type"] == "AWS::CodePipeline::Pipeline" and p["Properties"] is not ci
    ]
    assert all(b["Includes"] in (["main"], ["dev"]) for p in others for b in push_branches(p))


def test_dev_and_main_run_ci_then_train_their_own_pipeline(resources):
    for properties, branch in (
        (pipeline(resources, "train_codepipeline"), "main"),
        (dev_train(resources), "dev"),
    ):
        assert push_branches(properties) == [{"Includes": [branch]}]
        assert stage_names(properties) == ["Source", "CI", "Train"]
        [train] = properties["Stages"][2]["Actions"]
        variables = json.loads(train["Configuration"]["EnvironmentVariables"])
        assert {
            "name": "BRANCH_NAME",
            "value": "#{SourceVariables.BranchName}",
            "type": "PLAINTEXT",
        } in variables


{%- endif %}


def test_deploy_goes_staging_then_test_then_a_person_then_prod(resources):
    deploy = pipeline(resources, "deploy_codepipeline")
    assert stage_names(deploy) == [
        "Source",
        "Prepare",
        "Staging",
        "IntegrationTest",
        "ApproveProd",
        "Prod",
    ]
    actions = {stage["Name"]: stage["Actions"] for stage in deploy["Stages"]}
    assert actions["ApproveProd"][0]["ActionTypeId"]["Provider"] == "Manual"
    assert actions["IntegrationTest"][0]["Configuration"]["ProjectName"] == "TestProject"
    prepare_variables = json.loads(actions["Prepare"][0]["Configuration"]["EnvironmentVariables"])
    assert {v["name"]: v["value"] for v in prepare_variables} == {
        "GIT_COMMIT": "#{SourceVariables.CommitId}",
        "REDEPLOY": "#{variables.Redeploy}",
    }
    # The endpoint first, then its monitoring against the model it now serves; then the batch
    # scoring, whose alert topic the monitoring stack makes where there is one.
    endpoint = [
        ("endpoint.yml", "endpoint_stack", ""),
        ("monitoring.yml", "monitoring_stack", "-monitoring"),
    ]
    scoring = [("batch.yml", "batch_stack", "-batch")]
    deployed = endpoint * settings.DEPLOYS_ENDPOINT + scoring * settings.DEPLOYS_SCORING
    for stage, account in (("Staging", STAGING), ("Prod", PROD)):
        ordered = sorted(actions[stage], key=lambda action: action["RunOrder"])
        assert [action["RunOrder"] for action in ordered] == list(range(1, len(deployed) + 1))
        for action, (template, stack, part) in zip(ordered, deployed, strict=True):
            configuration = f"{stage.lower()}{part}.json"
            settings_ = action["Configuration"]
            assert action["ActionTypeId"]["Provider"] == "CloudFormation"
            assert action["RoleArn"] == CONFIG.role_arn(account, "deploy_role")
            assert settings_["RoleArn"] == CONFIG.role_arn(account, "cfn_execution_role")
            assert settings_["StackName"] == CONFIG.names[f"{stage.lower()}_{stack}"]
            assert settings_["TemplatePath"] == f"Source::infra/{template}"
            assert settings_["TemplateConfiguration"] == f"Prepared::{configuration}"
    if not CODECOMMIT:
        [branches] = push_branches(deploy)
        assert branches == {"Includes": ["main"]}
        paths = deploy["Triggers"][0]["GitConfiguration"]["Push"][0]["FilePaths"]["Includes"]
        assert paths == [f"infra/{template}" for template, _, _ in deployed] + ["infra/stages/**"]


def test_only_codebuild_reads_a_clone_ref_source(resources):
    """A CODEBUILD_CLONE_REF artifact is a pointer only CodeBuild can clone; CloudFormation
    actions need the files."""
    for properties in (
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ):
        actions = [action for stage in properties["Stages"] for action in stage["Actions"]]
        clones = {
            artifact["Name"]
            for action in actions
            if action["Configuration"].get("OutputArtifactFormat") == "CODEBUILD_CLONE_REF"
            for artifact in action["OutputArtifacts"]
        }
        for action in actions:
            if action["ActionTypeId"]["Category"] in ("Source", "Approval"):
                continue
            inputs = {artifact["Name"] for artifact in action.get("InputArtifacts", [])}
            if action["ActionTypeId"]["Provider"] != "CodeBuild":
                assert not inputs & clones, f"{properties['Name']}: {action['Name']}"


def test_cross_account_roles_name_the_configured_accounts(resources):
    policy = resources["CodePipelineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [assume] = [s for s in policy["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert assume["Resource"] == [
        CONFIG.role_arn(STAGING, "deploy_role"),
        CONFIG.role_arn(PROD, "deploy_role"),
    ]
    key_policy = resources["CicdKey"]["Properties"]["KeyPolicy"]["Statement"]
    [readers] = [s for s in key_policy if s["Sid"] == "TargetAccountsReadArtifacts"]
    assert {arn.split(":")[4] for arn in readers["Principal"]["AWS"]} == {STAGING, PROD}


def test_target_roles_trust_only_the_dev_accounts_pipeline_and_build_roles():
    template = load("target-account.yml")
    parameters = {
        **stacks.target_account(CONFIG, STAGING),
        **pseudo_parameters(STAGING, CONFIG.region),
    }
    resources = created_resources(template, parameters)
    for role, trusted in (
        ("DeployRole", "codepipeline_role"),
        ("IntegrationTestRole", "deploy_build_role"),
    ):
        [statement] = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{CONFIG.dev_account_id}:root"}
        assert statement["Condition"] == {
            "ArnEquals": {"aws:PrincipalArn": CONFIG.role_arn(CONFIG.dev_account_id, trusted)}
        }
    assert "CaptureBucket" in resources  # a stage account of its own keeps its captured data


def approval_events(group: str, status: str) -> dict:
    """A SageMaker Model Package State Change event as EventBridge delivers it."""
    account, region = CONFIG.dev_account_id, CONFIG.region
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": 7,
        "ModelPackageArn": f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/7",
        "ModelApprovalStatus": status,
        "CreationTime": 1764547200000,
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Model Package State Change",
        "Detail": json.dumps(detail),
        "Resources": [detail["ModelPackageArn"]],
    }


def test_only_an_approval_in_mains_group_starts_a_deployment(resources, mock_aws):
    """moto decides nothing in test_event_pattern: deliver real-shaped events to a queue."""
    pattern = resources["ApprovalRule"]["Properties"]["EventPattern"]
    events = boto3.client("events", region_name=CONFIG.region)
    sqs = boto3.client("sqs", region_name=CONFIG.region)
    queue = sqs.create_queue(QueueName="deployments")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="approval", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="approval", Targets=[{"Id": "queue", "Arn": arn}])
    main_group = CONFIG.names["model_package_group"]
    dev_group = stacks.cicd(CONFIG, "r")["DevModelPackageGroupName"]
    sent = [
        approval_events(main_group, "Approved"),
        approval_events(main_group, "Rejected"),
        approval_events(main_group, "PendingManualApproval"),
        approval_events(dev_group, "Approved"),
    ]
    assert events.put_events(Entries=sent)["FailedEntryCount"] == 0
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    details = [json.loads(message["Body"])["detail"] for message in received]
    assert [(d["ModelPackageGroupName"], d["ModelApprovalStatus"]) for d in details] == [
        (main_group, "Approved")
    ]
    target = resources["ApprovalRule"]["Properties"]["Targets"][0]
    assert target["Arn"].endswith(f":{CONFIG.names['deploy_codepipeline']}")


def test_training_jobs_may_read_main_s_champion_and_nothing_more_of_the_registry(resources):
    """Evaluate looks up the champion (main's newest Approved version) and reads its model."""
    role = resources["SageMakerExecutionRole"]["Properties"]
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    champion = statements["FindTheChampion"]
    assert champion["Action"] == ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"]
    group_arn = f"arn:aws:sagemaker:{CONFIG.region}:{CONFIG.dev_account_id}"
    assert champion["Resource"] == [
        f"{group_arn}:model-package-group/{CONFIG.champion_group}",
        f"{group_arn}:model-package/{CONFIG.champion_group}/*",
    ]
    # The champion's archive is a main training job's output, under the use case's prefix.
    assert CONFIG.branch_prefix.startswith(CONFIG.use_case + "/")
    assert statements["Artifacts"]["Resource"].endswith(f"/{CONFIG.use_case}/*")
