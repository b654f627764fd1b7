"""AWS naming rules: how each resource name derives from the use case and the git branch.

Pure and standard-library only on purpose: `settings.py` derives the project's names with
these functions, and the template's pre-generation hook runs the very same rules to refuse a
project whose names would break AWS limits before any file is written.

Branch policy (DESIGN principle 3): `main` gives the plain names, `dev` adds `-dev`, any other
branch adds `-<up to 8 readable characters>-<4 hex of its hash>`, so two long branches that
share a prefix still get distinct names and no suffix is longer than `LONGEST_BRANCH_SUFFIX`.
"""

import functools
import hashlib
import re
from dataclasses import dataclass

BRANCH_SUFFIXES = {"main": "", "dev": "-dev"}
WORK_BRANCH_PREFIXES = ("feature/", "fix/", "release/", "hotfix/")
_READABLE_CHARS = 8
_HASH_CHARS = 4
LONGEST_BRANCH_SUFFIX = 1 + _READABLE_CHARS + 1 + _HASH_CHARS

# Region codes as of November 2026 (commercial, GovCloud, China, European Sovereign Cloud).
AWS_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "cn-north-1",
        "cn-northwest-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eusc-de-east-1",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-gov-east-1",
        "us-gov-west-1",
        "us-west-1",
        "us-west-2",
    }
)


@dataclass(frozen=True)
class Rule:
    """AWS's character rule and length limit for one kind of resource name."""

    resource: str
    pattern: str
    max_length: int
    min_length: int = 1


SAGEMAKER = Rule("SageMaker resource", r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", 63)
SAGEMAKER_PIPELINE = Rule("SageMaker pipeline", r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", 256)
S3_BUCKET = Rule("S3 bucket", r"[a-z0-9][a-z0-9-]*[a-z0-9]", 63, min_length=3)
IAM_ROLE = Rule("IAM role", r"[\w+=,.@-]+", 64)
STACK = Rule("CloudFormation stack", r"[a-zA-Z][-a-zA-Z0-9]*", 128)
CODEPIPELINE = Rule("CodePipeline", r"[A-Za-z0-9.@_-]+", 100)
CODEBUILD = Rule("CodeBuild project", r"[A-Za-z0-9][A-Za-z0-9_-]*", 150, min_length=2)
CONNECTION = Rule("CodeConnections connection", r"[\w-]+", 32)
EVENT_RULE = Rule("EventBridge rule", r"[.\-_A-Za-z0-9]+", 64)
ALARM = Rule("CloudWatch alarm", r"[^\x00-\x1f]+", 255)
SCALING_POLICY = Rule("Application Auto Scaling policy", r"[^\x00-\x1f:/]+", 256)
KMS_ALIAS = Rule("KMS alias", r"alias/[a-zA-Z0-9/_-]+", 256)
SCHEDULE = Rule("EventBridge Scheduler schedule", r"[0-9a-zA-Z_.-]+", 64)
SNS_TOPIC = Rule("SNS topic", r"[A-Za-z0-9_-]+", 256)
LAMBDA_FUNCTION = Rule("Lambda function", r"[a-zA-Z0-9_-]+", 64)
METRIC_NAMESPACE = Rule("CloudWatch namespace", r"[A-Za-z0-9._/#:-]+", 255)
POLICY_STATEMENT = Rule("event bus policy statement", r"[a-zA-Z0-9-_]+", 64)
# A processing job's name is <prefix>-<EventBridge Scheduler execution id> (at most 36), and
# SageMaker allows 63 characters.
JOB_NAME_PREFIX = Rule("processing job name prefix", r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", 26)

# The repository CI/CD builds, as each provider's CodeConnections FullRepositoryId spells it
# (CodeCommit: the repository's name): a URL is no id, and a space would split the
# --parameter-overrides it is pasted into. GitLab nests groups: <group>/<subgroup>/<name>.
REPOSITORY_FORMS = {
    "github": ("<owner>/<name>", r"[A-Za-z0-9](-?[A-Za-z0-9])*/[\w.-]+"),
    "gitlab": ("<group>/<name> or <group>/<subgroup>/<name>", r"[\w.-]+(/[\w.-]+)+"),
    "bitbucket": ("<workspace>/<name>", r"[\w.-]+/[\w.-]+"),
    "codecommit": ("<name>, the repository's name in the dev account", r"[\w.-]{1,100}"),
}


def repository_problem(provider: str, repository: str) -> str | None:
    """Why `repository` is no repository id of `provider` (a key of REPOSITORY_FORMS), or None."""
    form, pattern = REPOSITORY_FORMS[provider]
    if re.fullmatch(pattern, repository, flags=re.ASCII):
        return None
    return f"--repository {repository!r} is no {provider} repository id; give {form}"


# The deployment stages, in the order a model reaches them.
STAGES = ("staging", "prod")


@dataclass(frozen=True)
class Name:
    """A derived resource name and the rule it must meet."""

    value: str
    rule: Rule

    def problem(self) -> str | None:
        """Why AWS would refuse this name, or None when it is valid."""
        length = len(self.value)
        if length > self.rule.max_length:
            return (
                f"{self.rule.resource} name {self.value!r} is {length} characters, "
                f"over AWS's limit of {self.rule.max_length}"
            )
        if length < self.rule.min_length:
            return (
                f"{self.rule.resource} name {self.value!r} is shorter than {self.rule.min_length}"
            )
        if not re.fullmatch(self.rule.pattern, self.value):
            return f"{self.rule.resource} name {self.value!r} does not match {self.rule.pattern}"
        return None


def branch_suffix(branch: str) -> str:
    """The suffix that keeps a branch's resources apart: '' for main, '-dev' for dev."""
    if branch in BRANCH_SUFFIXES:
        return BRANCH_SUFFIXES[branch]
    short_name = branch
    for prefix in WORK_BRANCH_PREFIXES:
        short_name = short_name.removeprefix(prefix)
    readable = re.sub(r"[^a-z0-9]+", "-", short_name.lower())
    readable = readable.strip("-")[:_READABLE_CHARS].strip("-")
    digest = hashlib.sha256(branch.encode()).hexdigest()[:_HASH_CHARS]
    return f"-{readable}-{digest}" if readable else f"-{digest}"


# Every other branch's S3 prefix sits under this segment, so one lifecycle rule expires them.
WORK_BRANCHES_SEGMENT = "branches"


def branch_segment(branch: str) -> str:
    """The branch's S3 path: 'main', 'dev', or 'branches/' and the suffix without its hyphen."""
    if branch in BRANCH_SUFFIXES:
        return branch
    return f"{WORK_BRANCHES_SEGMENT}/{branch_suffix(branch)[1:]}"


def bucket_name(use_case: str, account_id: str, region: str) -> str:
    """The use case's bucket in one account: artifacts in dev, data capture in the stages."""
    return f"{use_case}-ml-{account_id}-{region}"


def cut_name(name: str, limit: int) -> str:
    """`name`, or when longer than `limit` its start and 4 hex of its hash: distinct still."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    return f"{name[: limit - _HASH_CHARS - 1].rstrip('-')}-{digest}"


def connection_name(use_case: str) -> str:
    """The git connection's name: the use case, cut to CodeConnections' 32 characters."""
    return cut_name(use_case, CONNECTION.max_length)


def derive_names(use_case: str, branch: str, account_id: str, region: str) -> dict[str, Name]:
    """Every AWS resource name the project creates, keyed by the name settings expose.

    Branch-scoped resources (what `dev` and feature branches train) carry the branch suffix;
    CI/CD and deployment resources exist once per use case and account. The target-account
    roles and key are made once per staging or prod account, so one account can hold both
    stages (and dev) without clashes: only the endpoints and their stacks are per stage.
    """
    suffix = branch_suffix(branch)
    names = {
        "pipeline_name": Name(f"{use_case}{suffix}", SAGEMAKER_PIPELINE),
        "model_package_group": Name(f"{use_case}{suffix}", SAGEMAKER),
        # The scoring pipeline (pipeline/scoring.py) of a branch's own batches.
        "scoring_pipeline_name": Name(f"{use_case}-scoring{suffix}", SAGEMAKER_PIPELINE),
        "artifact_bucket": Name(bucket_name(use_case, account_id, region), S3_BUCKET),
        # CodePipeline's artifact store: the same length as the artifact bucket's name.
        "pipeline_bucket": Name(f"{use_case}-cd-{account_id}-{region}", S3_BUCKET),
        "cicd_key_alias": Name(f"alias/{use_case}-cicd", KMS_ALIAS),
        "connection": Name(connection_name(use_case), CONNECTION),
        "sagemaker_execution_role": Name(f"{use_case}-sagemaker-execution", IAM_ROLE),
        # One role per kind of build: CI runs any branch's code, so it may touch nothing else.
        "ci_build_role": Name(f"{use_case}-ci-build", IAM_ROLE),
        "train_build_role": Name(f"{use_case}-train-build", IAM_ROLE),
        "deploy_build_role": Name(f"{use_case}-deploy-build", IAM_ROLE),
        "codepipeline_role": Name(f"{use_case}-codepipeline", IAM_ROLE),
        "events_role": Name(f"{use_case}-events", IAM_ROLE),
        "ci_codebuild_project": Name(f"{use_case}-ci", CODEBUILD),
        # CodeCommit only: CI of pushes and pull requests outside main and dev, started by events.
        "branch_ci_codebuild_project": Name(f"{use_case}-ci-branches", CODEBUILD),
        "train_codebuild_project": Name(f"{use_case}-train", CODEBUILD),
        "prepare_codebuild_project": Name(f"{use_case}-deploy-prepare", CODEBUILD),
        "test_codebuild_project": Name(f"{use_case}-integration-test", CODEBUILD),
        "ci_codepipeline": Name(f"{use_case}-ci", CODEPIPELINE),
        "train_codepipeline": Name(f"{use_case}-train{suffix}", CODEPIPELINE),
        "deploy_codepipeline": Name(f"{use_case}-deploy", CODEPIPELINE),
        "approval_rule": Name(f"{use_case}-model-approved", EVENT_RULE),
        # Retraining (cicd.yml): on prod's drift alarm, and on a schedule (off by default).
        "retrain_on_drift_rule": Name(f"{use_case}-retrain-on-drift", EVENT_RULE),
        "retrain_schedule_rule": Name(f"{use_case}-retrain-schedule", EVENT_RULE),
        "drift_events_statement": Name(f"{use_case}-prod-drift-alarms", POLICY_STATEMENT),
        "cicd_stack": Name(f"{use_case}-cicd", STACK),
        # Experiment tracking (cicd.yml): the dev account's MLflow App and the role it runs as.
        "mlflow_app": Name(use_case, SAGEMAKER_PIPELINE),
        "mlflow_role": Name(f"{use_case}-mlflow", IAM_ROLE),
        # Keeps each version's model card status with its approval (cicd.yml).
        "model_card_function": Name(f"{use_case}-model-card-status", LAMBDA_FUNCTION),
        "model_card_role": Name(f"{use_case}-model-card-status", IAM_ROLE),
        "model_card_rule": Name(f"{use_case}-model-card-status", EVENT_RULE),
        # In each staging and prod account (target-account.yml).
        "target_account_stack": Name(f"{use_case}-target-account", STACK),
        "deploy_role": Name(f"{use_case}-deploy", IAM_ROLE),
        "cfn_execution_role": Name(f"{use_case}-cfn-execution", IAM_ROLE),
        "model_execution_role": Name(f"{use_case}-model-execution", IAM_ROLE),
        "integration_test_role": Name(f"{use_case}-integration-test", IAM_ROLE),
        "endpoint_key_alias": Name(f"alias/{use_case}-endpoints", KMS_ALIAS),
        # The scheduled drift check's job, its schedule's role, and prod's alarm forwarding.
        "drift_check_role": Name(f"{use_case}-drift-check", IAM_ROLE),
        "drift_schedule_role": Name(f"{use_case}-drift-schedule", IAM_ROLE),
        "alarm_forwarding_role": Name(f"{use_case}-alarm-forwarding", IAM_ROLE),
        "drift_metrics_namespace": Name(f"{use_case}/drift", METRIC_NAMESPACE),
        # Batch scoring (infra/batch.yml): the scoring pipeline's jobs, and what starts it.
        "scoring_role": Name(f"{use_case}-scoring", IAM_ROLE),
        "scoring_starter_role": Name(f"{use_case}-scoring-starter", IAM_ROLE),
        "scoring_schedule_role": Name(f"{use_case}-scoring-schedule", IAM_ROLE),
    }
    for stage in STAGES:
        endpoint = f"{use_case}-{stage}"
        names[f"{stage}_endpoint"] = Name(endpoint, SAGEMAKER)
        names[f"{stage}_endpoint_stack"] = Name(f"{use_case}-endpoint-{stage}", STACK)
        names[f"{stage}_errors_alarm"] = Name(f"{endpoint}-5xx-errors", ALARM)
        names[f"{stage}_latency_alarm"] = Name(f"{endpoint}-model-latency", ALARM)
        names[f"{stage}_scaling_policy"] = Name(f"{endpoint}-invocations", SCALING_POLICY)
        # infra/monitoring.yml, deployed after each stage's endpoint.
        names[f"{stage}_monitoring_stack"] = Name(f"{use_case}-monitoring-{stage}", STACK)
        names[f"{stage}_drift_schedule"] = Name(f"{endpoint}-drift-check", SCHEDULE)
        names[f"{stage}_drift_job_prefix"] = Name(
            cut_name(f"{endpoint}-drift", JOB_NAME_PREFIX.max_length), JOB_NAME_PREFIX
        )
        names[f"{stage}_alert_topic"] = Name(f"{endpoint}-alerts", SNS_TOPIC)
        names[f"{stage}_drift_alarm"] = Name(f"{endpoint}-drift", ALARM)
        names[f"{stage}_drift_check_missing_alarm"] = Name(f"{endpoint}-drift-check-missing", ALARM)
        names[f"{stage}_errors_alert"] = Name(f"{endpoint}-5xx-errors-alert", ALARM)
        names[f"{stage}_latency_alert"] = Name(f"{endpoint}-model-latency-alert", ALARM)
        names[f"{stage}_alarm_forwarding_rule"] = Name(f"{endpoint}-drift-to-dev", EVENT_RULE)
        # infra/batch.yml: the stage's scoring pipeline, its schedule, starter and alarms.
        names[f"{stage}_batch_stack"] = Name(f"{use_case}-batch-{stage}", STACK)
        names[f"{stage}_scoring_pipeline"] = Name(f"{endpoint}-scoring", SAGEMAKER_PIPELINE)
        names[f"{stage}_scoring_schedule"] = Name(f"{endpoint}-scoring", SCHEDULE)
        names[f"{stage}_scoring_starter"] = Name(f"{endpoint}-scoring-start", LAMBDA_FUNCTION)
        names[f"{stage}_scoring_failed_alarm"] = Name(f"{endpoint}-scoring-failed", ALARM)
        names[f"{stage}_scoring_late_alarm"] = Name(f"{endpoint}-scoring-late", ALARM)
        names[f"{stage}_scoring_drift_alarm"] = Name(f"{endpoint}-scoring-drift", ALARM)
        names[f"{stage}_scoring_drift_to_dev"] = Name(
            f"{endpoint}-scoring-drift-to-dev", EVENT_RULE
        )
    return names


# SageMaker's limits on a project (CreateProject): its name, and the id SageMaker gives it.
PROJECT_NAME = Rule("SageMaker project", r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", 32)
PROJECT_ID = Rule("SageMaker project id", r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", 20)


def project_use_case(project_name: str, project_id: str, account_id: str, region: str) -> str:
    """The use case of a project SageMaker Projects created: `<name>-<id>`, lowercase.

    The id keeps two projects of one name apart (a retained bucket outlives its project); the
    name is cut, when need be, so every derived name fits at any project name and id.
    """
    budget = longest_use_case(account_id, region) - len(project_id) - 1
    return f"{project_name.lower()[:budget].rstrip('-')}-{project_id.lower()}"


@functools.cache  # every settings.load() asks; the answer depends on these two only
def longest_use_case(account_id: str, region: str) -> int:
    """The longest use-case name for which every derived name, on any branch, fits its limit."""
    worst_branch = "feature/" + "x" * 40

    def fits(length: int) -> bool:
        names = derive_names("x" * length, worst_branch, account_id, region).values()
        return all(name.problem() is None for name in names)

    return max(length for length in range(1, SAGEMAKER.max_length + 1) if fits(length))
