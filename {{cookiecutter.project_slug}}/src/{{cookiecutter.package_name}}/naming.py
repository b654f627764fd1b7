"""AWS naming rules: how each resource name derives from the use case and the git branch.

Pure and standard-library only on purpose: `settings.py` derives the project's names with
these functions, and the template's pre-generation hook runs the very same rules to refuse a
project whose names would break AWS limits before any file is written.

Branch policy (DESIGN principle 3): `main` gives the plain names, `dev` adds `-dev`, any other
branch adds `-<up to 8 readable characters>-<4 hex of its hash>`, so two long branches that
share a prefix still get distinct names and no suffix is longer than `LONGEST_BRANCH_SUFFIX`.
"""

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


def branch_segment(branch: str) -> str:
    """The branch's S3 path segment: 'main', 'dev', or the suffix without its hyphen."""
    return branch if branch in BRANCH_SUFFIXES else branch_suffix(branch)[1:]


def derive_names(use_case: str, branch: str, account_id: str, region: str) -> dict[str, Name]:
    """Every AWS resource name the project creates, keyed by the name settings expose.

    Branch-scoped resources (what `dev` and feature branches train) carry the branch suffix;
    deployment resources exist once per use case and account.
    """
    suffix = branch_suffix(branch)
    return {
        "pipeline_name": Name(f"{use_case}{suffix}", SAGEMAKER_PIPELINE),
        "model_package_group": Name(f"{use_case}{suffix}", SAGEMAKER),
        "staging_endpoint": Name(f"{use_case}-staging", SAGEMAKER),
        "prod_endpoint": Name(f"{use_case}-prod", SAGEMAKER),
        "artifact_bucket": Name(f"{use_case}-ml-{account_id}-{region}", S3_BUCKET),
        "sagemaker_execution_role": Name(f"{use_case}-sagemaker-execution", IAM_ROLE),
        "codebuild_role": Name(f"{use_case}-codebuild", IAM_ROLE),
        "codepipeline_role": Name(f"{use_case}-codepipeline", IAM_ROLE),
        "deploy_role": Name(f"{use_case}-deploy", IAM_ROLE),
        "codebuild_project": Name(f"{use_case}-build{suffix}", CODEBUILD),
        "train_codepipeline": Name(f"{use_case}-train{suffix}", CODEPIPELINE),
        "deploy_codepipeline": Name(f"{use_case}-deploy", CODEPIPELINE),
        "cicd_stack": Name(f"{use_case}-cicd", STACK),
        "staging_endpoint_stack": Name(f"{use_case}-endpoint-staging", STACK),
        "prod_endpoint_stack": Name(f"{use_case}-endpoint-prod", STACK),
    }


def longest_use_case(account_id: str, region: str) -> int:
    """The longest use-case name for which every derived name, on any branch, fits its limit."""
    worst_branch = "feature/" + "x" * 40
    names = derive_names("", worst_branch, account_id, region)
    return min(name.rule.max_length - len(name.value) for name in names.values())
