"""The project template's custom resources: one Lambda function, two resource types.

Custom::StackParameters  the parameters of a nested stack (`Stack`: cicd or target-account),
                         derived by the seed code's own settings, naming and deploy.stacks, the
                         code its builds run, so the names cannot differ from what they expect.
Custom::SeedRepository   the repository's first commit, on main and dev. CodeConnections: run
                         the seeding build, wait for it, and report its one-line result.
                         CodeCommit: the repository was created with the seed on main, so
                         branch dev from it.

Seeding happens once, at creation: an update or a deletion never touches the repository. Any
failure reaches CloudFormation as one line, so the stack's events say what to fix; a failure
the handler did not foresee is reported too, rather than leaving the stack waiting an hour.
Runs on Lambda's Python runtime with the seed's package beside it (PACKAGE names it); boto3
comes with the runtime.
"""

import importlib
import json
import os
import time
import urllib.request

# How long to wait between looks at the seeding build, and the time kept to answer in the end.
POLL_SECONDS = 10
MARGIN_MILLISECONDS = 30_000
# CloudFormation refuses a response body over 4096 bytes.
RESPONSE_LIMIT = 4096
SEED_LOG_PREFIX = "seeding: "
# What the target-account data holds besides the template's parameters (for the StackSet).
STACKSET_EXTRAS = ("ProdCaptureBucketName", "StackSetName")


class LaunchError(Exception):
    """A failure the stack's events should show; the message says what to fix."""


def settings_for(properties: dict):
    """The seed code's settings for this project, as its main-branch builds will see them."""
    settings = importlib.import_module(f"{os.environ['PACKAGE']}.settings")
    return settings.load(
        {
            "BRANCH_NAME": settings.RELEASE_BRANCH,
            "AWS_REGION": os.environ["AWS_REGION"],
            "SAGEMAKER_PROJECT_NAME": properties["ProjectName"],
            "SAGEMAKER_PROJECT_ID": properties["ProjectId"],
            "DEV_ACCOUNT_ID": properties["DevAccountId"],
            "STAGING_ACCOUNT_ID": properties["StagingAccountId"],
            "PROD_ACCOUNT_ID": properties["ProdAccountId"],
        }
    )


def stack_parameters(properties: dict) -> dict[str, str]:
    """What `deploy stack-parameters <Stack>` prints for this project, as a mapping.

    target-account: one StackSet deploys it to both stage accounts; only the capture bucket
    differs between them, so prod's is returned too, for the StackSet's override, with the
    StackSet's name (STACKSET_EXTRAS).
    """
    stacks = importlib.import_module(f"{os.environ['PACKAGE']}.deploy.stacks")
    config = settings_for(properties)
    if properties["Stack"] == "cicd":
        return stacks.cicd(config, properties["RepositoryId"])
    staging = stacks.target_account(config, config.staging_account_id)
    prod = stacks.target_account(config, config.prod_account_id)
    return {
        **staging,
        "ProdCaptureBucketName": prod["CaptureBucketName"],
        "StackSetName": config.names["target_account_stack"],
    }


def seed_with_build(properties: dict, context) -> dict[str, str]:
    """Run the seeding build to its end; its last `seeding:` log line is the result."""
    import boto3

    codebuild = boto3.client("codebuild")
    build = codebuild.start_build(projectName=properties["BuildProject"])["build"]
    while build["buildStatus"] == "IN_PROGRESS":
        if context.get_remaining_time_in_millis() < MARGIN_MILLISECONDS + POLL_SECONDS * 1000:
            raise LaunchError(
                f"the seeding build {build['id']} is still running; "
                f"its log: {build.get('logs', {}).get('deepLink', 'in CodeBuild')}"
            )
        time.sleep(POLL_SECONDS)
        [build] = codebuild.batch_get_builds(ids=[build["id"]])["builds"]
    result = last_seed_line(build) or failed_phase(build)
    if build["buildStatus"] != "SUCCEEDED":
        link = build.get("logs", {}).get("deepLink", f"build {build['id']} in CodeBuild")
        raise LaunchError(f"seeding {properties['Repository']} failed: {result}; log: {link}")
    return {"Status": result}


def last_seed_line(build: dict) -> str:
    """The seeding script's last line about itself, from the build's log ('' if none)."""
    import boto3

    logs = build.get("logs", {})
    if not logs.get("groupName") or not logs.get("streamName"):
        return ""
    events = boto3.client("logs").get_log_events(
        logGroupName=logs["groupName"], logStreamName=logs["streamName"], startFromHead=False
    )["events"]
    lines = [event["message"].strip() for event in events]
    seeded = [line.removeprefix(SEED_LOG_PREFIX) for line in lines if line.startswith(SEED_LOG_PREFIX)]
    return seeded[-1] if seeded else ""


def failed_phase(build: dict) -> str:
    """Where and why the build failed, from its phases, when the script said nothing."""
    for phase in build.get("phases", []):
        if phase.get("phaseStatus") in ("FAILED", "FAULT", "TIMED_OUT", "STOPPED"):
            messages = "; ".join(context.get("message", "") for context in phase.get("contexts", []))
            return f"{phase['phaseType']} {phase['phaseStatus']}: {messages or 'no message'}"
    return f"build {build['buildStatus']}"


def seed_codecommit(properties: dict) -> dict[str, str]:
    """CodeCommit made the repository with the seed on main (Code.S3): branch dev from it."""
    import boto3

    codecommit = boto3.client("codecommit")
    repository = properties["RepositoryName"]
    commit = codecommit.get_branch(repositoryName=repository, branchName="main")["branch"]["commitId"]
    codecommit.create_branch(repositoryName=repository, branchName="dev", commitId=commit)
    return {"Status": f"seeded {repository}: main and dev at {commit}"}


def seed_repository(properties: dict, context) -> dict[str, str]:
    if "BuildProject" in properties:
        return seed_with_build(properties, context)
    return seed_codecommit(properties)


def handle(event: dict, context) -> tuple[str, dict[str, str]]:
    """The physical id and the data of the resource the event is about."""
    properties = event["ResourceProperties"]
    kind = event["ResourceType"]
    if kind == "Custom::StackParameters":
        if event["RequestType"] == "Delete":
            return event["PhysicalResourceId"], {}
        return f"{properties['ProjectId']}-{properties['Stack']}", stack_parameters(properties)
    if kind == "Custom::SeedRepository":
        if event["RequestType"] == "Create":
            return properties["Repository"], seed_repository(properties, context)
        return event["PhysicalResourceId"], {"Status": "seeded at creation; left as it is"}
    raise LaunchError(f"unknown resource type {kind}")


def respond(event: dict, status: str, physical_id: str, data: dict, reason: str = "") -> None:
    """Tell CloudFormation, through the presigned URL it gave, how the resource went."""
    body = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    encoded = json.dumps(body).encode()
    if len(encoded) > RESPONSE_LIMIT:
        body.update(Status="FAILED", Data={}, Reason=f"the response is {len(encoded)} bytes, over 4096")
        encoded = json.dumps(body).encode()
    # The presigned URL is signed for no content type.
    request = urllib.request.Request(event["ResponseURL"], data=encoded, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=60):
        pass


def handler(event: dict, context) -> None:
    """Lambda's entry point."""
    fallback_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    try:
        physical_id, data = handle(event, context)
    except Exception as error:  # every failure must reach CloudFormation (docstring)
        reason = str(error) if isinstance(error, LaunchError) else f"{type(error).__name__}: {error}"
        print(f"{event['LogicalResourceId']}: {reason}")
        respond(event, "FAILED", fallback_id, {}, reason[:1000])
        return
    respond(event, "SUCCESS", physical_id, data)
