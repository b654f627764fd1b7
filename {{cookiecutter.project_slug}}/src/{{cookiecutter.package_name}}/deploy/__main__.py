"""The CI/CD's commands (what buildspecs/deploy.yml and test.yml run; each also runs here).

  stack-parameters  print the parameters of infra/cicd.yml or infra/target-account.yml
  prepare           find the newest Approved model of main's group, claim it, and write the
                    stage configurations (<output-dir>/staging.json, prod.json, and the
                    monitoring's staging-monitoring.json, prod-monitoring.json, for an
                    endpoint; staging-batch.json, prod-batch.json for batch scoring, whose
                    scoring pipeline definitions it uploads)
  integration-test  call the staging endpoint as a client would, and/or score a sample batch
                    with the staging scoring pipeline; write a JUnit report

Deployments always come from main, so names are main's whatever branch is checked out.
`prepare` takes the commit from $GIT_COMMIT (the deploy pipeline's source commit) and the
build from $CODEBUILD_BUILD_ID unless given, and deploys a repeat on purpose when REDEPLOY=yes.
Exit status: 0 done, 1 nothing deployed or the test failed (the message says why), 2 a problem
to fix first.
"""

import argparse
import importlib.util
import os
import sys
import uuid
from datetime import UTC, datetime

from .. import aws, naming, options, settings
from . import integration, release, stacks

PROGRAM = "deploy"


def load_settings() -> settings.Settings:
    return settings.load({**os.environ, "BRANCH_NAME": settings.RELEASE_BRANCH})


def command_stack_parameters(args, config) -> int:
    aws.check_project(config)
    if args.stack == "cicd":
        form = naming.REPOSITORY_FORMS[settings.GIT_PROVIDER][0]
        if not args.repository:
            raise aws.CommandError(f"stack-parameters cicd needs --repository {form}")
        if problem := naming.repository_problem(settings.GIT_PROVIDER, args.repository):
            raise aws.CommandError(problem)
        parameters = stacks.cicd(config, args.repository)
    else:
        parameters = stacks.target_account(config, args.account or config.staging_account_id)
    print(" ".join(f"{key}={value}" for key, value in parameters.items()))
    return 0


def command_prepare(args, config) -> int:
    import boto3

    commit = args.commit or os.environ.get("GIT_COMMIT")
    build = args.build_id or os.environ.get("CODEBUILD_BUILD_ID")
    if not commit or not build:
        raise aws.CommandError(
            "prepare needs the commit and build: run it in CodeBuild or pass --commit and "
            "--build-id"
        )
    boto_session = boto3.Session(region_name=config.region)
    aws.check_account(boto_session, config)
    redeploy = os.environ.get("REDEPLOY", "no") == "yes"
    try:
        package = release.prepare(boto_session, config, commit, build, args.output_dir, redeploy)
    except release.ReleaseError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    stages = ", ".join(
        str(args.output_dir / f"{name}.json") for name in release.configuration_names()
    )
    print(
        f"{PROGRAM}: model package version {package['ModelPackageVersion']} "
        f"({package['ModelPackageArn']}) at commit {commit[:12]}: wrote {stages}",
        file=sys.stderr,
    )
    return 0


def command_integration_test(args, config) -> int:
    import boto3

    boto_session = boto3.Session(region_name=config.region)
    aws.check_account(boto_session, config)
    account = config.account_of(args.stage)
    role = config.role_arn(account, "integration_test_role")
    credentials = boto_session.client("sts").assume_role(
        RoleArn=role, RoleSessionName=f"{config.use_case}-integration-test"[:64]
    )["Credentials"]
    stage_session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=config.region,
    )
    rows, target_range = integration.sample(args.data, args.rows)
    cases = []
    if settings.DEPLOYS_ENDPOINT:
        endpoint = config.names[f"{args.stage}_endpoint"]
        status = stage_session.client("sagemaker").describe_endpoint(EndpointName=endpoint)
        if status["EndpointStatus"] != "InService":
            raise aws.CommandError(
                f"endpoint {endpoint} is {status['EndpointStatus']}, not InService; "
                "check the deploy stage's CloudFormation events"
            )
        runtime = stage_session.client("sagemaker-runtime")
        cases += integration.run(runtime, endpoint, rows, target_range, args.p95_seconds)
    if settings.DEPLOYS_SCORING:
        group = config.names["model_package_group"].lower()  # as model package ARNs spell it
        group_arn = f"arn:{config.partition}:sagemaker:{config.region}:{config.dev_account_id}"
        cases += integration.score(
            stage_session.client("sagemaker"),
            stage_session.client("s3"),
            config.names[f"{args.stage}_scoring_pipeline"],
            release.scoring_root(config, args.stage),
            f"integration-test-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
            integration.sample_batch(args.data, args.rows),
            target_range,
            f"{group_arn}:model-package/{group}/",
            args.scoring_timeout,
            args.poll_seconds,
        )
    args.junit.parent.mkdir(parents=True, exist_ok=True)
    args.junit.write_text(integration.junit_xml(cases, f"{args.stage}-integration-test"))
    for case in cases:
        print(f"{PROGRAM}: {'FAIL' if case.problems else 'pass'}: {case.name}", file=sys.stderr)
        for problem in case.problems[:5]:
            print(f"{PROGRAM}:   {problem}", file=sys.stderr)
    print(f"{PROGRAM}: wrote {args.junit}", file=sys.stderr)
    return 1 if any(case.problems for case in cases) else 0


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.deploy",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True)

    parameters = commands.add_parser("stack-parameters", help="print a bootstrap stack's values")
    parameters.add_argument("stack", choices=stacks.STACKS)
    parameters.add_argument("--repository", help="cicd: <owner>/<name> (CodeCommit: the name)")
    parameters.add_argument("--account", help="target-account: the account (default: staging's)")
    parameters.set_defaults(run=command_stack_parameters)

    prepare = commands.add_parser("prepare", help="pick the approved model, write stage configs")
    prepare.add_argument("--output-dir", type=options.output_folder, default="prepared")
    prepare.add_argument("--commit", help="default: $GIT_COMMIT")
    prepare.add_argument("--build-id", help="default: $CODEBUILD_BUILD_ID")
    prepare.set_defaults(run=command_prepare)

    test = commands.add_parser(
        "integration-test", help="test a stage's endpoint, or batch scoring, or both"
    )
    test.add_argument("--stage", choices=naming.STAGES, default="staging")
    test.add_argument("--junit", type=options.output_file, default="reports/integration.xml")
    test.add_argument(
        "--data", type=options.readable_file, default=str(settings.SAMPLE_DATA), help="rows to send"
    )
    test.add_argument("--rows", type=options.positive_whole_number, default=integration.ROWS)
    test.add_argument(
        "--p95-seconds",
        type=options.positive_number,
        default=os.environ.get(settings.INTEGRATION_P95_VARIABLE, settings.INTEGRATION_P95_SECONDS),
        help=f"latency bound (default: ${settings.INTEGRATION_P95_VARIABLE} or %(default)s)",
    )
    test.add_argument(
        "--scoring-timeout",
        type=options.positive_number,
        default=integration.SCORING_TIMEOUT_SECONDS,
        help="batch scoring: how long to wait for the execution (seconds)",
    )
    test.add_argument(
        "--poll-seconds",
        type=options.positive_number,
        default=integration.POLL_SECONDS,
        help="batch scoring: how often to ask how the execution is going",
    )
    test.set_defaults(run=command_integration_test)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    if importlib.util.find_spec("boto3") is None:
        print(
            f"{PROGRAM}: error: boto3 is missing;"
            " run make setup (outside make: uv sync --locked --extra deploy)",
            file=sys.stderr,
        )
        return 2
    return aws.run(PROGRAM, lambda: args.run(args, load_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
