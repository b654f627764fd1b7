"""Build, publish and run the SageMaker Pipeline (what CI calls; `run-local` runs it here).

  definition  write the pipeline definition JSON (no AWS account needed); --pipeline scoring
              writes the scoring pipeline's (scoring.py)
  diagram     draw the pipeline as a Mermaid flowchart, or refresh the README's copy
  upsert      upload the package, create or update the model package group and the pipeline
  start       start an execution; with --wait, follow it and fail unless it succeeds; with
              --latest-data, on the newest folder of the input data (see `latest_data_uri`)

Names, region and branch come from `settings.load()`. The jobs' IAM role comes from --role-arn
or $SAGEMAKER_PIPELINE_ROLE_ARN; `definition` and `diagram` fall back to the role name that
settings derive (`<use-case>-sagemaker-execution`), since they only print. Exit status: 0 done,
1 the execution failed, stopped or timed out, 2 a problem to fix first (the message names it).
"""

import argparse
import importlib.util
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

from .. import aws, settings
from ..aws import CommandError, check_account
from ..options import output_file, positive_number, readable_file
from ..tracking import wheelhouse
from . import code, diagram, parameters

FINISHED = ("Succeeded", "Failed", "Stopped")
# arn:<partition>:iam::<account>:role/<optional path/><name>
ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
PARAMETER = re.compile(r"([A-Za-z0-9-]+)=(.*)", re.DOTALL)


def role_arn(given: str | None, config: settings.Settings, required: bool) -> str:
    arn = given or os.environ.get(settings.ROLE_ARN_VARIABLE)
    if not arn and required:
        raise CommandError(
            f"no IAM role for the pipeline: pass --role-arn or set {settings.ROLE_ARN_VARIABLE} "
            f"with the ARN of a SageMaker execution role of the dev account"
        )
    if not arn:
        return config.role_arn(config.dev_account_id, "sagemaker_execution_role")
    match = ROLE_ARN.fullmatch(arn)
    if not match:
        raise CommandError(
            f"{arn!r} is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>"
        )
    if match.group(1) != config.partition:
        raise CommandError(
            f"role {arn} is in partition {match.group(1)}, but {config.region} is in "
            f"{config.partition}; use a role of the pipeline's own account"
        )
    if match.group(2) != config.dev_account_id:
        raise CommandError(
            f"role {arn} is in account {match.group(2)}, but the pipeline runs in the dev account "
            f"{config.dev_account_id}; use a role of that account (or set DEV_ACCOUNT_ID)"
        )
    return arn


# The pipelines the package defines: training (definition.py), and scoring (scoring.py).
PIPELINES = ("training", "scoring")


def build(config: settings.Settings, arn: str, boto_session=None, pipeline: str = "training"):
    """The pipeline object; imports the SageMaker SDK (slow) only when a command needs it."""
    from . import definition

    session = definition.session(config, boto_session)
    if pipeline == "scoring":
        from . import scoring

        root = parameters.scoring_root(config)
        return scoring.build(config, arn, root, pipeline_session=session)
    return definition.build(config, arn, code.collect(), session)


def definition_json(pipeline) -> str:
    return json.dumps(json.loads(pipeline.definition()), indent=2) + "\n"


def write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    except OSError as error:
        raise CommandError(f"cannot write {output}: {error.strerror}") from error
    print(f"pipeline: wrote {output}", file=sys.stderr)


def build_offline(config: settings.Settings, arn: str, pipeline: str = "training"):
    """Build for printing only. No request is made, so boto3 need not look for credentials on
    the EC2 metadata service: off EC2 each of the SDK's sessions would wait a second for it."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return build(config, arn, pipeline=pipeline)


def command_definition(args, config) -> int:
    arn = role_arn(args.role_arn, config, required=False)
    pipeline = build_offline(config, arn, args.pipeline)
    write(definition_json(pipeline), args.output)
    return 0


def command_diagram(args, config) -> int:
    try:
        readme = None if args.readme is None else args.readme.read_text()
    except OSError as error:
        raise CommandError(f"{args.readme}: {error.strerror}") from error
    pipeline = build_offline(config, role_arn(None, config, required=False))
    chart = diagram.mermaid(json.loads(pipeline.definition()))
    if readme is None:
        write(chart, args.output)
        return 0
    try:
        updated = diagram.embed(readme, chart)
    except ValueError as error:
        raise CommandError(f"{args.readme}: {error}") from error
    if updated == readme:
        print(f"pipeline: diagram in {args.readme} is up to date", file=sys.stderr)
        return 0
    write(updated, args.readme)
    return 0


def tag_list(config: settings.Settings) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in config.tags.items()]


def ensure_model_package_group(client, config) -> None:
    """Create the branch's model package group, tagged, unless it exists."""
    group = config.names["model_package_group"]
    try:
        client.describe_model_package_group(ModelPackageGroupName=group)
    except client.exceptions.ClientError as error:
        if "does not exist" not in str(error):
            raise
        client.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription=f"{config.use_case} models trained on {config.branch}",
            Tags=tag_list(config),
        )
        print(f"pipeline: created model package group {group}", file=sys.stderr)


def check_bucket(s3_client, config: settings.Settings) -> None:
    """The artifact bucket must exist and belong to the dev account (its name is predictable)."""
    bucket = config.names["artifact_bucket"]
    try:
        s3_client.head_bucket(Bucket=bucket, ExpectedBucketOwner=config.dev_account_id)
    except s3_client.exceptions.ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            raise CommandError(
                f"artifact bucket {bucket} does not exist; create it "
                f"(`aws s3 mb s3://{bucket} --region {config.region}`) or set ARTIFACT_BUCKET "
                "to an existing bucket of the dev account"
            ) from error
        if status == 403:
            raise CommandError(
                f"artifact bucket {bucket} is not the dev account's ({config.dev_account_id}) "
                "or this role may not use it; set ARTIFACT_BUCKET to a bucket of the dev account"
            ) from error
        raise


def command_upsert(args, config) -> int:
    import boto3

    arn = role_arn(args.role_arn, config, required=True)
    boto_session = boto3.Session(region_name=config.region)
    check_account(boto_session, config)
    s3_client = boto_session.client("s3")
    check_bucket(s3_client, config)
    bundle = code.collect()
    uploaded = code.publish(bundle, config.branch_root, s3_client, config.dev_account_id)
    where = bundle.location(config.branch_root)
    print(
        f"pipeline: code {'uploaded to' if uploaded else 'unchanged at'} {where}", file=sys.stderr
    )
    wheels = wheelhouse.project_wheels()
    where = wheelhouse.location(wheels, config.use_case_root)
    uploaded = wheelhouse.publish(wheels, where, s3_client, config.dev_account_id)
    print(
        f"pipeline: MLflow wheelhouse {'uploaded to' if uploaded else 'unchanged at'} {where}",
        file=sys.stderr,
    )
    ensure_model_package_group(boto_session.client("sagemaker"), config)
    pipeline = build(config, arn, boto_session)
    response = pipeline.upsert(
        role_arn=arn,
        description=f"{config.use_case}: train, evaluate and register ({config.branch})",
        tags=tag_list(config),
    )
    print(response["PipelineArn"])
    return 0


def parse_parameters(pairs: list[str], config: settings.Settings) -> list[dict[str, str]]:
    """`Name=Value` pairs, each checked against the pipeline's parameters."""
    given = []
    for pair in pairs:
        match = PARAMETER.fullmatch(pair)
        if not match:
            raise CommandError(
                f"--parameter {pair!r}: expected Name=Value, e.g. QualityThreshold=0.8"
            )
        name, value = match.groups()
        try:
            parameters.check(name, value, config)
        except parameters.ParameterError as error:
            raise CommandError(f"--parameter {error}") from None
        given.append({"Name": name, "Value": value})
    return given


def failure_reason(client, execution_arn: str, description: dict) -> str:
    """Why an execution ended badly: the failed steps' reasons, else the execution's own."""
    steps = client.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn)
    reasons = [
        f"step {step['StepName']} {step['StepStatus'].lower()}: "
        # A Fail step reports its message in its metadata, other steps in FailureReason.
        + (
            step.get("FailureReason")
            or step.get("Metadata", {}).get("Fail", {}).get("ErrorMessage")
            or "no reason given"
        )
        for step in steps["PipelineExecutionSteps"]
        if step["StepStatus"] in ("Failed", "Stopped")
    ]
    return "; ".join(reasons) or description.get("FailureReason", "no reason given")


def wait(
    client, execution_arn: str, timeout: float, poll: float, clock=time.monotonic, sleep=time.sleep
) -> int:
    """Follow an execution until it finishes or `timeout` seconds pass; 0 only on success."""
    deadline = clock() + timeout
    while True:
        description = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        status = description["PipelineExecutionStatus"]
        if status == "Succeeded":
            print(f"pipeline: execution succeeded: {execution_arn}", file=sys.stderr)
            return 0
        if status in FINISHED:
            reason = failure_reason(client, execution_arn, description)
            print(f"pipeline: execution {status.lower()}: {reason}", file=sys.stderr)
            return 1
        remaining = deadline - clock()
        if remaining <= 0:
            print(
                f"pipeline: execution still {status} after {timeout:g} s "
                f"(it goes on): {execution_arn}",
                file=sys.stderr,
            )
            return 1
        sleep(min(poll, remaining))


def latest_data_uri(s3_client, config: settings.Settings) -> str:
    """The newest data: the last folder, in name order, of the input data prefix, e.g.
    `input-data/2026-11-30/` (dated names sort in time); the prefix itself if it has none.

    Each dataset gets a folder of its own because the pipeline's cache knows data only by its
    URI: new files under a URI it has seen would be served the old results (README).
    """
    bucket, _, prefix = config.input_data_uri.removeprefix("s3://").partition("/")
    paginator = s3_client.get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/", ExpectedBucketOwner=config.dev_account_id
    )
    folders = sorted(item["Prefix"] for page in pages for item in page.get("CommonPrefixes", []))
    return f"s3://{bucket}/{folders[-1]}" if folders else config.input_data_uri


def command_start(args, config) -> int:
    import boto3

    given = parse_parameters(args.parameter, config)
    if args.latest_data and any(p["Name"] == "InputDataUri" for p in given):
        raise CommandError("--latest-data picks InputDataUri itself; drop one of the two")
    boto_session = boto3.Session(region_name=config.region)
    check_account(boto_session, config)
    if args.latest_data:
        uri = latest_data_uri(boto_session.client("s3"), config)
        given.append({"Name": "InputDataUri", "Value": uri})
        print(f"pipeline: training on the newest data, {uri}", file=sys.stderr)
    client = boto_session.client("sagemaker")
    name = config.names["pipeline_name"]
    try:
        client.describe_pipeline(PipelineName=name)
    except client.exceptions.ClientError as error:
        # SageMaker answers ResourceNotFound; moto and older endpoints a ValidationException.
        if error.response["Error"]["Code"] not in ("ResourceNotFound", "ValidationException"):
            raise
        raise CommandError(
            f"pipeline {name} does not exist in {config.region}; run upsert first"
        ) from error
    response = client.start_pipeline_execution(
        PipelineName=name,
        PipelineParameters=given,
        PipelineExecutionDescription=f"started from branch {config.branch}",
    )
    execution_arn = response["PipelineExecutionArn"]
    print(execution_arn)
    return wait(client, execution_arn, args.timeout, args.poll) if args.wait else 0


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.pipeline",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True)

    definition = commands.add_parser("definition", help="write the pipeline definition JSON")
    definition.add_argument("--output", type=output_file, help="file to write (default: stdout)")
    definition.add_argument(
        "--role-arn", help=f"jobs' IAM role (default: ${settings.ROLE_ARN_VARIABLE})"
    )
    definition.add_argument(
        "--pipeline", choices=PIPELINES, default=PIPELINES[0], help="which pipeline"
    )
    definition.set_defaults(run=command_definition)

    chart = commands.add_parser("diagram", help="draw the pipeline as Mermaid")
    target = chart.add_mutually_exclusive_group()
    target.add_argument("--output", type=output_file, help="file to write (default: stdout)")
    target.add_argument(
        "--readme", type=readable_file, help="refresh the diagram block in this README"
    )
    chart.set_defaults(run=command_diagram)

    upsert = commands.add_parser(
        "upsert", help="publish the code and create or update the pipeline"
    )
    upsert.add_argument(
        "--role-arn", help=f"jobs' IAM role (default: ${settings.ROLE_ARN_VARIABLE})"
    )
    upsert.set_defaults(run=command_upsert)

    start = commands.add_parser("start", help="start an execution")
    start.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    start.add_argument(
        "--latest-data", action="store_true", help="train on the input data's newest folder"
    )
    start.add_argument("--wait", action="store_true", help="follow the execution to its end")
    start.add_argument(
        "--timeout", type=positive_number, default=4 * 3600, help="seconds (default: 4 h)"
    )
    start.add_argument("--poll", type=positive_number, default=30, help="seconds between checks")
    start.set_defaults(run=command_start)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    if importlib.util.find_spec("sagemaker") is None:
        print(
            "pipeline: error: the SageMaker SDK is not installed;"
            " run make setup EXTRAS=dev,pipeline (outside make: uv sync --locked --extra pipeline)",
            file=sys.stderr,
        )
        return 2

    def command() -> int:
        with warnings.catch_warnings():
            # PipelineSession's note on each step it only records.
            warnings.filterwarnings("ignore", message="Running within a PipelineSession")
            return args.run(args, settings.load())

    return aws.run("pipeline", command)


if __name__ == "__main__":
    raise SystemExit(main())
