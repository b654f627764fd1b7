"""`make register`: publish a seed (`make seed`) as a SageMaker Projects template, with the AWS CLI.

Both routes first deploy registration.yml (the templates bucket, the launch role, what the
Studio execution role needs) and upload the seed's files under
artifacts/<template-name>/<version>/, which no later version overwrites. Then:

  s3              put project.yml at templates/<template-name>.yml tagged
                  sagemaker:studio-visibility=true, and tag the Studio domain with
                  sagemaker:projectS3TemplatesLocation=s3://<bucket>/templates/
  servicecatalog  deploy service-catalog.yml: the portfolio and product of that version

Each AWS CLI command is printed before it runs; the first that fails stops the registration
with its error in one line. Registering again with a newer seed updates the template in place.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGISTRATION_STACK = "sagemaker-project-templates"
# The role registration.yml makes for CloudFormation to create projects as (AWS's name for it).
LAUNCH_ROLE = "AmazonSageMakerProjectsLaunchRole"
SEED_FILES = ("seed.zip", "launcher.zip", "cicd.yml", "target-account.yml", "project.yml")
ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)")
DOMAIN_ID = re.compile(r"d-[a-z0-9]+")
VISIBLE = "sagemaker:studio-visibility=true"


class RegisterError(Exception):
    """A problem to fix before (or while) registering; the message says what."""


def aws(*arguments: str, region: str | None = None) -> str:
    """Run one AWS CLI command, printed first; its output, or RegisterError with its error."""
    command = ["aws", *(["--region", region] if region else []), *arguments]
    print(f"register: $ {shlex.join(command)}", flush=True)
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise RegisterError("the AWS CLI (`aws`) is not installed; install it and run again") from None
    if result.returncode:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()] or ["no message"]
        raise RegisterError(f"`aws {arguments[0]} {arguments[1]}` failed: {lines[-1].strip()}")
    return result.stdout.strip()


def read_seed(seed: Path) -> dict:
    """The seed's manifest, after checking that `make seed` built every file."""
    missing = [name for name in (*SEED_FILES, "manifest.json") if not (seed / name).is_file()]
    if missing:
        raise RegisterError(f"{seed} lacks {', '.join(missing)}: pass SEED=<the folder `make seed` printed>")
    return json.loads((seed / "manifest.json").read_text(encoding="utf-8"))


def region_of() -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        try:
            region = aws("configure", "get", "region")
        except RegisterError:
            region = ""
    if not region:
        raise RegisterError("no AWS region; set AWS_REGION to the region of the Studio domain")
    return region


def deploy(region: str, stack: str, template: Path, *parameters: str) -> None:
    aws(
        "cloudformation",
        "deploy",
        "--stack-name",
        stack,
        "--template-file",
        str(template),
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--no-fail-on-empty-changeset",
        "--parameter-overrides",
        *parameters,
        region=region,
    )


def register(route: str, seed: Path, studio_role_arn: str, domain_id: str | None, owner: str) -> list[str]:
    """Register the seed by `route`; the lines that say what to do next."""
    manifest = read_seed(seed)
    role = ROLE_ARN.fullmatch(studio_role_arn)
    if not role:
        raise RegisterError(f"STUDIO_ROLE {studio_role_arn!r}: give the Studio execution role's ARN")
    if route == "s3" and not (domain_id and DOMAIN_ID.fullmatch(domain_id)):
        given = f"DOMAIN {domain_id!r}" if domain_id else "no DOMAIN"
        raise RegisterError(f"{given}: the S3 route tags the Studio domain; give its id (DOMAIN=d-...)")
    region = region_of()
    account = aws("sts", "get-caller-identity", "--query", "Account", "--output", "text", region=region)
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    deploy(
        region,
        REGISTRATION_STACK,
        HERE / "registration.yml",
        f"StudioExecutionRoleName={role.group(1)}",
        f"LaunchRoleName={LAUNCH_ROLE}",
    )
    bucket = f"sagemaker-templates-{account}-{region}"
    name, version = manifest["template_name"], manifest["version"]
    prefix = f"artifacts/{name}/{version}"
    for file in SEED_FILES:
        aws("s3", "cp", str(seed / file), f"s3://{bucket}/{prefix}/{file}", "--only-show-errors", region=region)
    if route == "s3":
        key = f"templates/{name}.yml"
        aws(
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            key,
            "--body",
            str(seed / "project.yml"),
            "--tagging",
            VISIBLE,
            region=region,
        )
        location = f"s3://{bucket}/templates/"
        domain = f"arn:{partition}:sagemaker:{region}:{account}:domain/{domain_id}"
        aws(
            "sagemaker",
            "add-tags",
            "--resource-arn",
            domain,
            "--tags",
            f"Key=sagemaker:projectS3TemplatesLocation,Value={location}",
            region=region,
        )
        return [
            f"s3://{bucket}/{key} is visible to domain {domain_id} (version {version}).",
            "Next: in Studio, Deployments > Projects > Create project > Organization templates "
            f"> {name}; give an empty repository and the connection's ARN.",
        ]
    launch_role = aws(
        "iam", "get-role", "--role-name", LAUNCH_ROLE, "--query", "Role.Arn", "--output", "text", region=region
    )
    deploy(
        region,
        f"sagemaker-project-{name}",
        HERE / "service-catalog.yml",
        f"TemplateName={name}",
        f"TemplateVersion={version}",
        f"TemplateUrl=https://{bucket}.s3.{region}.{suffix}/{prefix}/project.yml",
        f"TemplateDescription=ML use case from the SageMaker ML solution template ({name})",
        f"Owner={owner}",
        f"LaunchRoleArn={launch_role}",
        f"StudioExecutionRoleArn={studio_role_arn}",
    )
    return [
        f"Service Catalog product {name} (version {version}) is shared with {studio_role_arn}.",
        f"Next: in Studio, Deployments > Projects > Create project > Organization templates > {name}.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="register", description=__doc__.splitlines()[0])
    parser.add_argument("--route", choices=("s3", "servicecatalog"), required=True)
    parser.add_argument("--seed", type=Path, required=True, help="the folder `make seed` printed")
    parser.add_argument("--studio-role-arn", required=True, help="the Studio execution role's ARN")
    parser.add_argument("--domain-id", help="the Studio domain (S3 route)")
    parser.add_argument("--owner", default="ML platform team", help="who maintains the template")
    args = parser.parse_args(argv)
    try:
        next_steps = register(args.route, args.seed, args.studio_role_arn, args.domain_id, args.owner)
    except RegisterError as error:
        print(f"register: error: {error}", file=sys.stderr)
        return 1
    for line in next_steps:
        print(f"register: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
