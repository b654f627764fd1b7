"""registration.yml, service-catalog.yml and `make register`, offline.

register.py runs as a platform engineer runs it, with the real AWS CLI (AWSCLI names it),
against a local moto server: the S3 route's object tag and domain tag, the uploads, the
stacks. moto's CloudFormation keeps Service Catalog resources as placeholders, and moto has no
product-portfolio association, launch constraint or principal association: the calls
CloudFormation makes for service-catalog.yml's resources run against moto where it has them
and botocore's Stubber where it does not, with the exact parameters the template gives.
"""

import fnmatch
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from cfnlint.api import ManualArgs, lint_file
from conftest import SEED_DIRS, TEMPLATE_ROOT, load_template
from moto import mock_aws

from sagemaker_projects import register

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
STUDIO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-1"
BUCKET = f"sagemaker-templates-{ACCOUNT}-{REGION}"
# AWS's CORS rule for S3 templates (aws-samples/sagemaker-custom-project-templates, s3_templates).
STUDIO_CORS = {
    "AllowedOrigins": ["https://*.sagemaker.aws"],
    "AllowedMethods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": [
        "ETag",
        "x-amz-delete-marker",
        "x-amz-id-2",
        "x-amz-request-id",
        "x-amz-server-side-encryption",
        "x-amz-version-id",
    ],
}


@pytest.fixture
def moto_server():
    """A fresh moto server (every registration test starts from an empty account)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait()


def client(service: str, endpoint: str):
    return boto3.client(
        service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def studio(endpoint: str) -> str:
    """The Studio side that exists before registration: the execution role and a domain."""
    client("iam", endpoint).create_role(
        RoleName="AmazonSageMaker-ExecutionRole-1",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    domain = client("sagemaker", endpoint).create_domain(
        DomainName="studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": STUDIO_ROLE},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
        Tags=[{"Key": "team", "Value": "ml"}],  # moto cannot add tags to a domain made without
    )
    return domain["DomainArn"].rsplit("/", 1)[1]


def run_register(endpoint: str, *arguments: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": f"{Path(os.environ['AWSCLI']).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    command = [sys.executable, "-m", "sagemaker_projects.register", *arguments]
    return subprocess.run(command, cwd=TEMPLATE_ROOT, env=environment, capture_output=True, text=True, timeout=300)


def manifest() -> dict:
    return json.loads((SEED_DIRS["github"] / "manifest.json").read_text())


def test_s3_route_makes_the_template_visible_to_the_domain(moto_server):
    domain_id = studio(moto_server)
    seed = SEED_DIRS["github"]
    result = run_register(
        moto_server, "--route", "s3", "--seed", str(seed), "--studio-role-arn", STUDIO_ROLE, "--domain-id", domain_id
    )
    assert result.returncode == 0, result.stdout + result.stderr
    name, version = manifest()["template_name"], manifest()["version"]
    s3 = client("s3", moto_server)
    key = f"templates/{name}.yml"
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == (seed / "project.yml").read_bytes()
    assert s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"] == [
        {"Key": "sagemaker:studio-visibility", "Value": "true"}
    ]
    for file in register.SEED_FILES:
        uploaded = s3.get_object(Bucket=BUCKET, Key=f"artifacts/{name}/{version}/{file}")["Body"].read()
        assert uploaded == (seed / file).read_bytes(), file
        # Only the template itself is visible in Studio, never an artefact.
        assert s3.get_object_tagging(Bucket=BUCKET, Key=f"artifacts/{name}/{version}/{file}")["TagSet"] == []
    domain_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{domain_id}"
    tags = {t["Key"]: t["Value"] for t in client("sagemaker", moto_server).list_tags(ResourceArn=domain_arn)["Tags"]}
    assert tags["sagemaker:projectS3TemplatesLocation"] == f"s3://{BUCKET}/templates/"
    stack = client("cloudformation", moto_server).describe_stacks(StackName=register.REGISTRATION_STACK)
    assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert result.stdout.strip().splitlines()[-1].startswith("register: Next: in Studio,")


@pytest.mark.parametrize("name", ["registration.yml", "service-catalog.yml"])
def test_registration_templates_have_no_errors_and_no_warnings(name):
    matches = lint_file(TEMPLATE_ROOT / "sagemaker_projects" / name, ManualArgs(regions=[REGION]))
    assert not [str(match) for match in matches]


def test_studio_reads_templates_and_their_tags_and_passes_only_the_launch_role():
    policy = load_template(TEMPLATE_ROOT / "sagemaker_projects" / "registration.yml")["Resources"]
    statements = {s["Sid"]: s for s in policy["StudioUsesTemplates"]["Properties"]["PolicyDocument"]["Statement"]}
    assert "s3:GetObjectTagging" in statements["ReadTemplates"]["Action"]
    assert statements["CreateProjectsAsTheLaunchRole"]["Resource"] == {"Fn::GetAtt": ["LaunchRole", "Arn"]}
    assert policy["StudioUsesTemplates"]["Properties"]["Roles"] == [{"Ref": "StudioExecutionRoleName"}]


def test_the_bucket_has_studios_cors_rule(moto_server):
    """The template's rule is AWS's, and S3 takes it as it is written (moto's CloudFormation skips CORS)."""
    bucket = load_template(TEMPLATE_ROOT / "sagemaker_projects" / "registration.yml")["Resources"]["TemplatesBucket"]
    [rule] = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    as_sent = {("ExposeHeaders" if key == "ExposedHeaders" else key): value for key, value in rule.items()}
    assert as_sent == STUDIO_CORS
    s3 = client("s3", moto_server)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [as_sent]})
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"] == [STUDIO_CORS]


def test_service_catalog_route_deploys_the_product_of_that_version(moto_server):
    studio(moto_server)
    seed = SEED_DIRS["github"]
    result = run_register(
        moto_server, "--route", "servicecatalog", "--seed", str(seed), "--studio-role-arn", STUDIO_ROLE
    )
    assert result.returncode == 0, result.stdout + result.stderr
    name, version = manifest()["template_name"], manifest()["version"]
    cloudformation = client("cloudformation", moto_server)
    [stack] = cloudformation.describe_stacks(StackName=f"sagemaker-project-{name}")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    launch_role = client("iam", moto_server).get_role(RoleName=register.LAUNCH_ROLE)["Role"]["Arn"]
    assert parameters["LaunchRoleArn"] == launch_role
    assert parameters["StudioExecutionRoleArn"] == STUDIO_ROLE
    assert parameters["TemplateVersion"] == version
    url = parameters["TemplateUrl"]
    assert url == f"https://{BUCKET}.s3.{REGION}.amazonaws.com/artifacts/{name}/{version}/project.yml"
    key = url.split(".amazonaws.com/", 1)[1]
    assert (
        client("s3", moto_server).get_object(Bucket=BUCKET, Key=key)["Body"].read()
        == (seed / "project.yml").read_bytes()
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["--route", "s3", "--seed", "/nowhere", "--studio-role-arn", STUDIO_ROLE, "--domain-id", "d-1"],
            "lacks seed.zip",
        ),
        (["--route", "servicecatalog", "--studio-role-arn", "AmazonSageMaker-ExecutionRole-1"], "STUDIO_ROLE"),
        (["--route", "s3", "--studio-role-arn", STUDIO_ROLE], "no DOMAIN: the S3 route tags the Studio domain"),
        (
            ["--route", "s3", "--studio-role-arn", STUDIO_ROLE, "--domain-id", "studio"],
            "DOMAIN 'studio': the S3 route tags the Studio domain; give its id (DOMAIN=d-...)",
        ),
    ],
)
def test_bad_inputs_are_refused_before_any_aws_call(arguments, expected):
    if "--seed" not in arguments:
        arguments = [*arguments, "--seed", str(SEED_DIRS["github"])]
    result = run_register("http://127.0.0.1:9", *arguments)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("register: error: ") and expected in line
    assert "$ aws" not in result.stdout


def test_a_failed_aws_call_stops_the_registration_in_one_line():
    result = run_register(
        "http://127.0.0.1:9",
        "--route",
        "servicecatalog",
        "--seed",
        str(SEED_DIRS["github"]),
        "--studio-role-arn",
        STUDIO_ROLE,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "register: error: `aws sts get-caller-identity` failed: Could not connect to the endpoint URL"
    )
    assert "cloudformation" not in result.stdout


# --- service-catalog.yml, as the Service Catalog calls CloudFormation makes for it ---


def resolve(value, references: dict):
    """Ref and Fn::Sub of `value` with `references` (parameters and resources' ids)."""
    if isinstance(value, list):
        return [resolve(item, references) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return references[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        for name, replacement in references.items():
            text = text.replace("${" + name + "}", replacement)
        return text
    return {key: resolve(item, references) for key, item in value.items()}


def test_service_catalog_resources_are_the_calls_studio_needs():
    template = load_template(TEMPLATE_ROOT / "sagemaker_projects" / "service-catalog.yml")
    launch_role = f"arn:aws:iam::{ACCOUNT}:role/{register.LAUNCH_ROLE}"
    references = {
        "TemplateName": "classifier-sklearn-github",
        "TemplateVersion": "0123456789ab",
        "TemplateUrl": f"https://{BUCKET}.s3.{REGION}.amazonaws.com/artifacts/x/0123456789ab/project.yml",
        "TemplateDescription": "ML use case",
        "Owner": "ML platform team",
        "LaunchRoleArn": launch_role,
        "StudioExecutionRoleArn": STUDIO_ROLE,
    }
    properties = {name: resource["Properties"] for name, resource in template["Resources"].items()}
    with mock_aws():
        catalog = boto3.client("servicecatalog", region_name=REGION)
        portfolio = resolve(properties["Portfolio"], references)
        portfolio_id = catalog.create_portfolio(**portfolio, IdempotencyToken="p")["PortfolioDetail"]["Id"]
        product = resolve(properties["Product"], references)
        [artifact] = product.pop("ProvisioningArtifactParameters")
        created = catalog.create_product(
            **product,
            ProductType="CLOUD_FORMATION_TEMPLATE",
            ProvisioningArtifactParameters=artifact,
            IdempotencyToken="q",
        )
        product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
        assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in created["Tags"]
        assert artifact == {
            "Name": "0123456789ab",
            "Description": "classifier-sklearn-github version 0123456789ab",
            "Type": "CLOUD_FORMATION_TEMPLATE",
            "Info": {"LoadTemplateFromURL": references["TemplateUrl"]},
        }
        references.update(Portfolio=portfolio_id, Product=product_id)
        stubbed = boto3.client("servicecatalog", region_name=REGION)
        with Stubber(stubbed) as stubber:
            stubber.add_response(
                "associate_product_with_portfolio", {}, {"ProductId": product_id, "PortfolioId": portfolio_id}
            )
            constraint = {"ConstraintDetail": {"Type": "LAUNCH"}, "Status": "AVAILABLE"}
            stubber.add_response(
                "create_constraint",
                constraint,
                {
                    "PortfolioId": portfolio_id,
                    "ProductId": product_id,
                    "Type": "LAUNCH",
                    "Parameters": json.dumps({"RoleArn": launch_role}),
                    "Description": "Create SageMaker projects as the launch role.",
                    "IdempotencyToken": "c",
                },
            )
            stubber.add_response(
                "associate_principal_with_portfolio",
                {},
                {"PortfolioId": portfolio_id, "PrincipalARN": STUDIO_ROLE, "PrincipalType": "IAM"},
            )
            stubbed.associate_product_with_portfolio(**resolve(properties["ProductInPortfolio"], references))
            launch = resolve(properties["LaunchAsTheLaunchRole"], references)
            stubbed.create_constraint(
                PortfolioId=launch["PortfolioId"],
                ProductId=launch["ProductId"],
                Type="LAUNCH",
                Parameters=json.dumps({"RoleArn": launch["RoleArn"]}),
                Description=launch["Description"],
                IdempotencyToken="c",
            )
            stubbed.associate_principal_with_portfolio(**resolve(properties["StudioSeesThePortfolio"], references))
    assert template["Resources"]["LaunchAsTheLaunchRole"]["DependsOn"] == "ProductInPortfolio"


def test_the_launch_role_may_create_and_pass_every_role_a_project_makes_and_no_other(launcher):
    """Roles are matched by the ends naming.py and project.yml give their names."""
    policy = load_template(TEMPLATE_ROOT / "sagemaker_projects" / "registration.yml")["Resources"]["LaunchProjects"]
    [roles] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "ProjectRoles"]
    assert {"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:PassRole", "iam:TagRole"} <= set(roles["Action"])
    patterns = [resource["Fn::Sub"].rsplit("role/", 1)[1] for resource in roles["Resource"]]
    project = {
        "ProjectName": "Churn",
        "ProjectId": "p-abcdefghijkl",
        "DevAccountId": ACCOUNT,
        "StagingAccountId": ACCOUNT,
        "ProdAccountId": ACCOUNT,
    }
    parameters = launcher.stack_parameters({**project, "Stack": "cicd", "RepositoryId": "acme/churn"})
    cicd = load_template(SEED_DIRS["github"] / "cicd.yml")["Resources"]
    made_in_dev = [
        parameters[resource["Properties"]["RoleName"]["Ref"]]
        for resource in cicd.values()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    resources = load_template(SEED_DIRS["github"] / "project.yml")["Resources"]
    made_in_dev += [
        resource["Properties"]["RoleName"]["Fn::Sub"].replace("${SageMakerProjectId}", project["ProjectId"])
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    assert len(made_in_dev) == 10
    for role in made_in_dev:
        assert [p for p in patterns if fnmatch.fnmatchcase(role, p)], role
    # Each pattern stands for one kind of role: none matches all of them.
    assert all(len([r for r in made_in_dev if fnmatch.fnmatchcase(r, p)]) == 1 for p in patterns)


def test_the_launch_role_may_open_the_default_bus_to_prods_drift_alarms():
    """cicd.yml's bus policy, made in a project whose prod is another account."""
    cicd = load_template(SEED_DIRS["github"] / "cicd.yml")["Resources"]
    assert cicd["DriftEventsFromProd"]["Properties"]["EventBusName"] == "default"
    policy = load_template(TEMPLATE_ROOT / "sagemaker_projects" / "registration.yml")["Resources"]["LaunchProjects"]
    [statement] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "DriftAlarmsFromProd"]
    assert {"events:PutPermission", "events:RemovePermission"} <= set(statement["Action"])
    assert statement["Resource"]["Fn::Sub"].endswith(":event-bus/default")
