"""Every name and path of this use case, derived in one place (DESIGN principle 3).

Values come from the environment first (set by CodeBuild or SageMaker Projects), then from
the answers given when the project was generated. Resource names follow `naming.py`:
`main` gives the plain names, `dev` a `-dev` suffix, any other branch its own short suffix.
"""

import math
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import naming

# The project checkout this package sits in (src/<package>/): local runs resolve their default
# paths from it, so they work from any folder of the project, notebooks/ included. An installed
# copy (pip install .) has no checkout around it: then the current folder, for paths only (the
# branch is never that folder's: see current_branch).
_CHECKOUT = Path(__file__).resolve().parents[2]
IN_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file()
PROJECT_ROOT = _CHECKOUT if IN_CHECKOUT else Path.cwd()

# Answers rendered when the project was generated.
PROJECT_SLUG = {{ cookiecutter.project_slug | string_literal }}
AWS_REGION = {{ cookiecutter.aws_region | string_literal }}
DEV_ACCOUNT_ID = {{ cookiecutter.dev_account_id | string_literal }}
STAGING_ACCOUNT_ID = {{ cookiecutter.staging_account_id | string_literal }}
PROD_ACCOUNT_ID = {{ cookiecutter.prod_account_id | string_literal }}
GIT_PROVIDER = {{ cookiecutter.git_provider | string_literal }}
PROBLEM_TYPE = {{ cookiecutter.problem_type | string_literal }}
MODEL_FRAMEWORK = {{ cookiecutter.model_framework | string_literal }}
# How the model serves predictions: "realtime" deploys an endpoint (infra/endpoint.yml), "batch"
# the scoring pipeline on a schedule (infra/batch.yml), "both" the two.
INFERENCE = {{ cookiecutter.inference | string_literal }}
DEPLOYS_ENDPOINT = INFERENCE in ("realtime", "both")
DEPLOYS_SCORING = INFERENCE in ("batch", "both")
# The template release this project was generated from or last updated to (README, "Template
# updates"): `make template-update` moves it on.
TEMPLATE_VERSION = {{ cookiecutter._template_version | string_literal }}
# What the model is for, as each version's model card states its intended use (evaluate/card.py):
# at first the use case's description; the team sharpens it there as the use case does. It ships
# with the code, so the Evaluate job reads it too.
INTENDED_USE_FILE = Path(__file__).with_name("intended_use.md")

{%- if cookiecutter.problem_type == "binary_classification" %}

# The quality gate: a model is registered only when this metric reaches the threshold.
PRIMARY_METRIC = "auc"
# The top-level key of evaluation.json, as in SageMaker's model-quality statistics.
REPORT_KEY = "binary_classification_metrics"
QUALITY_THRESHOLD = 0.9
SAMPLE_DATA = PROJECT_ROOT / "data" / "sample" / "breast_cancer.csv"
# The largest disparity allowed between groups of a sensitive feature (evaluate/bias.py): the
# difference between the highest and the lowest group's rate of predicted positives (demographic
# parity), of true positives among actual positives (equal opportunity), and of false positives
# among actual negatives.
BIAS_THRESHOLDS = {
    "positive_rate_difference": 0.1,
    "true_positive_rate_difference": 0.1,
    "false_positive_rate_difference": 0.1,
}
{%- else %}

# The quality gate: a model is registered only when this metric reaches the threshold.
PRIMARY_METRIC = "r2"
# The top-level key of evaluation.json, as in SageMaker's model-quality statistics.
REPORT_KEY = "regression_metrics"
QUALITY_THRESHOLD = 0.3
SAMPLE_DATA = PROJECT_ROOT / "data" / "sample" / "diabetes.csv"
# The largest disparity allowed between groups of a sensitive feature (evaluate/bias.py): the
# highest group's mean absolute error over the lowest's, and the difference between the groups'
# mean residuals (prediction minus truth, in units of the compared rows' mean absolute error):
# a model that errs more, or leans one way more, for one group.
BIAS_THRESHOLDS = {
    "error_ratio": 1.25,
    "mean_residual_difference": 0.25,
}
{%- endif %}

# The sets Preprocess splits the data into, each its own output folder.
SPLITS = ("train", "validation", "test")
# What Preprocess writes beside the splits, in a folder of its own: the input's files, their
# digests and the rows (data.core.manifest), which the Track step logs.
DATA_MANIFEST_DIR = "manifest"
DATA_MANIFEST_FILE = "data.json"
# The report the evaluate step writes and the quality gate reads.
REPORT_FILE = "evaluation.json"
# Champion/challenger (evaluate/champion.py): the champion is the newest Approved version of the
# release branch's model package group, the model in production. A new model is registered
# only if it is not worse: the one-sided lower bound, at CHAMPION_CONFIDENCE, of its paired
# bootstrap difference from the champion in PRIMARY_METRIC (on the same test rows) is at least
# minus CHAMPION_TOLERANCE. With no champion the threshold decides alone.
CHAMPION_CONFIDENCE = 0.95
CHAMPION_TOLERANCE = 0.01
# The top-level key of the comparison in evaluation.json, beside REPORT_KEY.
COMPARISON_KEY = "champion_comparison"
# What Evaluate writes beside REPORT_FILE, each registered with the model version: the
# explanations (evaluate/explain.py), the bias assessment (evaluate/bias.py) and the page a
# person reads before approving (evaluate/page.py).
EXPLAINABILITY_FILE = "explainability.json"
BIAS_FILE = "bias.json"
EVALUATION_PAGE = "evaluation.html"
# The registered version's metadata key that names its evaluation.html.
EVALUATION_PAGE_METADATA = "evaluation-report"
# Hyperparameter tuning: with trials, the pipeline's Train step is a Tune step that trains that
# many models from train/hyperparameters.py's SEARCH_SPACE, TUNING_PARALLEL_TRIALS at a time, and
# the best by the primary metric goes on to Evaluate. 0 trains once with the defaults.
# $TUNING_TRIALS overrides it (`TUNING_TRIALS=8 make run-local`); see the README for why the
# count is fixed when the pipeline is built, not a parameter of each execution.
TUNING_TRIALS = 0
TUNING_PARALLEL_TRIALS = 2
TUNING_TRIALS_VARIABLE = "TUNING_TRIALS"
# Evaluate and Baseline read their splits a chunk at a time and keep a uniform sample of at most
# this many rows (every row of a smaller split): beyond the reading, their memory and time stay
# the same however large the data. A metric or a decile of 200,000 rows is within about 0.002
# of the whole split's.
SAMPLED_ROWS = 200_000
# Global feature importance shuffles each feature IMPORTANCE_REPEATS times in at most
# IMPORTANCE_ROWS test rows; per-row attributions explain ATTRIBUTED_ROWS of them.
IMPORTANCE_ROWS = 5000
IMPORTANCE_REPEATS = 5
ATTRIBUTED_ROWS = 20
# Groups of a sensitive feature smaller than this are reported but not compared: so few rows say
# little of the group. With BIAS_GATE the quality gate refuses a model whose disparity between
# the compared groups exceeds BIAS_THRESHOLDS; without it the report flags the disparity and the
# person approving decides.
BIAS_MIN_GROUP_SIZE = 30
BIAS_GATE = False
# Set by the local executor: the evaluate job finds the champion in this local registry
# rather than in SageMaker's, among the versions of this group: the one the local run registers
# into and `registry approve` approves (on a dev checkout, the -dev group), not main's.
LOCAL_REGISTRY_VARIABLE = "LOCAL_MODEL_REGISTRY"
LOCAL_CHAMPION_GROUP_VARIABLE = "LOCAL_CHAMPION_GROUP"
# A model package's metadata (CustomerMetadataProperties): SageMaker refuses the request unless
# each key (at most 128) and value (at most 256) holds only these characters (a regex class:
# letters, digits, spaces and _.:/=+-@).
METADATA_CHARACTERS = r"\w .:/=+@-"
METADATA_VALUE_LENGTH = 256
# The status a newly registered model gets: a person approves it before it is deployed.
PENDING_APPROVAL = "PendingManualApproval"
# The status a person gives a model to deploy it; the newest such version is the champion.
APPROVED = "Approved"

# A SageMaker job finds its inputs, config and outputs under /opt/ml. The local executor
# (pipeline/executor.py) runs each job with OPT_ML_DIR naming that job's folder of the run.
OPT_ML_VARIABLE = "OPT_ML_DIR"
OPT_ML = Path(os.environ.get(OPT_ML_VARIABLE) or "/opt/ml")
PROCESSING_DIR = OPT_ML / "processing"

# The image's record (its library versions) and the lock that pins them (README, "Dependencies").
IMAGE_RECORD = PROJECT_ROOT / "images.toml"
LOCK_FILE = PROJECT_ROOT / "uv.lock"
# Each local run of the pipeline gets a folder here, its S3 inside it (pipeline/local.py).
RUNS_DIR = PROJECT_ROOT / "runs"
# The built pipeline definitions a local run reuses, one per code, settings and SDK version.
DEFINITION_CACHE_DIR = PROJECT_ROOT / ".cache" / "definitions"
# What each deployment stage tunes (instances, canary, alarms): infra/stages/<stage>.json.
STAGES_DIR = PROJECT_ROOT / "infra" / "stages"
LOCAL_REGISTRY_DIR = PROJECT_ROOT / "model-registry"

# Experiment tracking (tracking/): each pipeline execution logs one MLflow run to the tracking
# URI its MlflowTrackingUri parameter names. `make run-local` logs into this SQLite store and
# artifact folder (git-ignored; `make mlflow-ui` browses them) unless MLFLOW_TRACKING_URI names
# another; in SageMaker the parameter's default is the dev account's MLflow App
# (MLFLOW_TRACKING_ARN when the pipeline is built, infra/cicd.yml), and empty tracks nothing.
TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
MLFLOW_DIR = PROJECT_ROOT / "mlruns"
LOCAL_TRACKING_URI = f"sqlite:///{MLFLOW_DIR / 'mlflow.db'}"
# A tracking server that cannot be reached gives one warning line and the pipeline goes on;
# strict, the Track step fails the execution instead.
TRACKING_STRICT = False

# Monitoring (monitor/): captured endpoint traffic is checked against the baseline of the data
# the deployed model was trained on. `make monitor` checks the sample captures, the sample data
# sent to this project's model (clean) and a drifted copy, and writes each report into a new
# folder under MONITORING_DIR.
SAMPLE_CAPTURES = {
    kind: SAMPLE_DATA.parent / "capture" / kind / f"{SAMPLE_DATA.stem}-{MODEL_FRAMEWORK}.jsonl"
    for kind in ("clean", "drifted")
}
MONITORING_DIR = PROJECT_ROOT / "monitoring"
# A check finds drift when its statistic exceeds its threshold (docs/deployment.md, "Tune the
# drift check"). Distances are Jensen-Shannon distances (base 2): 0 for the same distribution,
# 1 for distributions with nothing in common. Shares are fractions of the captured rows.
DRIFT_THRESHOLDS = {
    "distribution": 0.2,  # distance of a feature's values from its training distribution
    "prediction": 0.2,  # distance of the predictions from those on the test set
    "missing_values": 0.05,  # rise of a feature's share of missing values since training
    "unseen_categories": 0.01,  # share of a categorical feature's codes training never saw
    "invalid_values": 0.01,  # share of a feature's values that are not numbers
    "schema": 0.01,  # share of rows with other features than the schema's
}
# Distance thresholds of single features, for those that vary more (or less) than the rest.
FEATURE_DRIFT_THRESHOLDS: dict[str, float] = {}
# Fewer captured rows give no distance verdict: so small a sample says little of the traffic.
DRIFT_MIN_ROWS = 100

# Seed code of a SageMaker Projects template (`make seed` in the template): the answers above
# are placeholders, and AWS names come from the project's environment (aws.check_project).
SAGEMAKER_PROJECTS = {{ "True" if cookiecutter._sagemaker_projects == "yes" else "False" }}

# Used when neither BRANCH_NAME nor git names the branch: never main's or dev's names.
UNKNOWN_BRANCH = "local"

# SageMaker: the prebuilt image every step runs in (its image_uris name and version):
# preprocessing, training, evaluation, the drift baseline and check, and serving. One image, so
# the model is unpickled by the library versions that fitted it and one environment can hold
# the versions of every job. The project runs the image's Python, PYTHON_VERSION, on the laptop
# and in CI alike.
{%- if cookiecutter.model_framework == "xgboost" %}
FRAMEWORK_IMAGE = ("xgboost", "3.2-0")
{%- else %}
FRAMEWORK_IMAGE = ("sklearn", "1.9-0")
{%- endif %}
PYTHON_VERSION = {{ cookiecutter._python_version | string_literal }}
IMAGE_PYTHON = tuple(int(part) for part in PYTHON_VERSION.split("."))
# Defaults of the pipeline parameters; an execution may override each.
PROCESSING_INSTANCE_TYPE = "ml.m5.large"
TRAINING_INSTANCE_TYPE = "ml.m5.large"
INFERENCE_INSTANCE_TYPE = "ml.m5.large"
# The IAM role the pipeline's jobs run as; CI sets it, `upsert` refuses to guess it.
ROLE_ARN_VARIABLE = "SAGEMAKER_PIPELINE_ROLE_ARN"
# Caps the threads of the numeric libraries in every step (see threads.py).
THREADS_VARIABLE = "ML_THREADS"

# CI/CD (buildspecs/, infra/). Every build runs on this CodeBuild image, whose Python runtimes
# are these (aws/aws-codebuild-docker-images, al/x86_64/standard/5.0/runtimes.yml, April 2026);
# PYTHON_VERSION must be one of them, or CodeBuild refuses the build at once.
CODEBUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
CODEBUILD_PYTHON_RUNTIMES = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
# The staging integration test: the slowest request of the fastest 95 % may take this long
# (seconds; the variable overrides it, e.g. in the test build's environment).
INTEGRATION_P95_SECONDS = 1.0
INTEGRATION_P95_VARIABLE = "INTEGRATION_P95_SECONDS"
# The branch whose approved models are deployed (DESIGN principle 8).
RELEASE_BRANCH = "main"


# What `load` reads from the environment before the rendered answers.
ENVIRONMENT_VARIABLES = (
    "BRANCH_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "DEV_ACCOUNT_ID",
    "STAGING_ACCOUNT_ID",
    "PROD_ACCOUNT_ID",
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "ARTIFACT_BUCKET",
    "MLFLOW_TRACKING_ARN",
)


class SettingsError(ValueError):
    """A setting from the environment that AWS would refuse."""


def quality_threshold(value: str | float) -> float:
    """A quality-gate threshold: a number from 0 to 1, as AUC and R2 top out at 1.

    A negative threshold would register models worse than guessing; NaN would pass nothing.
    """
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not 0 <= threshold <= 1:
        raise SettingsError(
            f"quality threshold {value!r}: expected a number from 0 to 1, e.g. {QUALITY_THRESHOLD}"
        )
    return threshold


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one run: where it is, which branch, and every resource name."""

    use_case: str
    branch: str
    region: str
    dev_account_id: str
    staging_account_id: str
    prod_account_id: str
    sagemaker_project_name: str | None
    sagemaker_project_id: str | None
    names: Mapping[str, str]
    # Where the pipeline's executions are tracked by default: an MLflow App's ARN, or "".
    tracking_arn: str = ""
    # The Tune step's trials; 0: a Train step (TUNING_TRIALS).
    tuning_trials: int = 0

    def account_of(self, stage: str) -> str:
        """The account a deployment stage ('staging' or 'prod') runs in."""
        return {"staging": self.staging_account_id, "prod": self.prod_account_id}[stage]

    def capture_bucket(self, stage: str) -> str:
        """Where a stage's endpoint captures requests: its account's bucket of this use case.

        In the dev account that is the artifact bucket itself: one account can hold it all.
        """
        account = self.account_of(stage)
        if account == self.dev_account_id:
            return self.names["artifact_bucket"]
        return naming.bucket_name(self.use_case, account, self.region)

    def role_arn(self, account: str, role: str) -> str:
        """The ARN of one of this project's roles (a key of `names`) in `account`."""
        return f"arn:{self.partition}:iam::{account}:role/{self.names[role]}"

    @property
    def partition(self) -> str:
        """The AWS partition of the region, as ARNs spell it."""
        prefixes = {"cn-": "aws-cn", "us-gov-": "aws-us-gov", "eusc-": "aws-eusc"}
        return next((p for start, p in prefixes.items() if self.region.startswith(start)), "aws")

    @property
    def champion_group(self) -> str:
        """The model package group whose newest Approved version is the champion: main's."""
        names = naming.derive_names(self.use_case, RELEASE_BRANCH, self.dev_account_id, self.region)
        return names["model_package_group"].value

    @property
    def branch_prefix(self) -> str:
        """The key prefix of this branch's runs and code: <use-case>/<branch>."""
        return f"{self.use_case}/{naming.branch_segment(self.branch)}"

    @property
    def branch_root(self) -> str:
        """Where this branch's runs and code live: s3://<bucket>/<use-case>/<branch>."""
        return f"s3://{self.names['artifact_bucket']}/{self.branch_prefix}"

    def s3_uri(self, run_id: str, step: str, output: str = "") -> str:
        """The S3 location of one step's output: <branch root>/<run-id>/<step>/<output>."""
        return "/".join(filter(None, [self.branch_root, run_id, step, output]))

    @property
    def use_case_root(self) -> str:
        """What the use case's branches share: s3://<bucket>/<use-case>."""
        return f"s3://{self.names['artifact_bucket']}/{self.use_case}"

    @property
    def input_data_uri(self) -> str:
        """The default training data: one prefix per use case, shared by its branches."""
        return f"{self.use_case_root}/input-data/"

    @property
    def tags(self) -> dict[str, str]:
        """Tags for what the pipeline creates; the sagemaker: tags link it to a Studio project."""
        # Tag values allow letters, digits, spaces and _.:/=+-@; git allows more in branch names.
        branch = re.sub(r"[^\w.:/=+@ -]", "-", self.branch)[:256]
        tags = {"use-case": self.use_case, "branch": branch}
        if self.sagemaker_project_id:
            tags["sagemaker:project-name"] = self.sagemaker_project_name
            tags["sagemaker:project-id"] = self.sagemaker_project_id
        return tags


def current_branch() -> str:
    """The branch the project's checkout has checked out, whatever the current folder.

    Git runs in PROJECT_ROOT, so a command started from another repository (on `main`, say)
    or from outside git still gets this project's names. UNKNOWN_BRANCH when the project has
    no branch of its own: an installed copy (no checkout around the package: set BRANCH_NAME;
    the current folder may be another project's repository), a checkout that is no git
    repository or lies in a folder its enclosing repository ignores (e.g. a render under
    build/), or a detached HEAD.
    """
    if not IN_CHECKOUT:
        return UNKNOWN_BRANCH

    def git(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *arguments], capture_output=True, text=True
        )

    try:
        ignored = git("check-ignore", "--quiet", ".").returncode != 1  # 128: not in a repository
        head = git("symbolic-ref", "--quiet", "--short", "HEAD")  # fails when detached
    except OSError:  # no git installed
        return UNKNOWN_BRANCH
    return UNKNOWN_BRANCH if ignored or head.returncode else head.stdout.strip()


def sagemaker_project(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The name and id of the SageMaker project this runs for, from its environment, or Nones.

    SageMaker Projects sets both; one without the other would name resources of no project.
    """
    name, project_id = env.get("SAGEMAKER_PROJECT_NAME"), env.get("SAGEMAKER_PROJECT_ID")
    if bool(name) != bool(project_id):
        raise SettingsError(
            "SAGEMAKER_PROJECT_NAME and SAGEMAKER_PROJECT_ID name a SageMaker project together; "
            "set both (Studio shows them on the project's page) or neither"
        )
    problems = [
        problem
        for value, rule in ((name, naming.PROJECT_NAME), (project_id, naming.PROJECT_ID))
        if value and (problem := naming.Name(value, rule).problem())
    ]
    if problems:
        raise SettingsError("; ".join(problems))
    return name or None, project_id or None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve the settings from `environ` (default: os.environ) and the rendered answers."""
    env = os.environ if environ is None else environ
    branch = env.get("BRANCH_NAME") or current_branch()
    source = next((name for name in ("AWS_REGION", "AWS_DEFAULT_REGION") if env.get(name)), None)
    region = env[source] if source else AWS_REGION
    if region not in naming.AWS_REGIONS:
        raise SettingsError(
            f"AWS region {region!r} (from {source}) is not an AWS region code; "
            f"set {source} to one, e.g. {AWS_REGION}"
        )
    dev_account_id = env.get("DEV_ACCOUNT_ID") or DEV_ACCOUNT_ID
    project_name, project_id = sagemaker_project(env)
    if project_id:
        use_case = naming.project_use_case(project_name, project_id, dev_account_id, region)
    else:
        use_case = PROJECT_SLUG
    derived = naming.derive_names(use_case, branch, dev_account_id, region)
    if env.get("ARTIFACT_BUCKET"):  # a bucket made elsewhere, e.g. by a SageMaker Projects template
        derived["artifact_bucket"] = naming.Name(env["ARTIFACT_BUCKET"], naming.S3_BUCKET)
    problems = [problem for name in derived.values() if (problem := name.problem())]
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(
        use_case=use_case,
        branch=branch,
        region=region,
        dev_account_id=dev_account_id,
        staging_account_id=env.get("STAGING_ACCOUNT_ID") or STAGING_ACCOUNT_ID,
        prod_account_id=env.get("PROD_ACCOUNT_ID") or PROD_ACCOUNT_ID,
        sagemaker_project_name=project_name,
        sagemaker_project_id=project_id,
        names={key: name.value for key, name in derived.items()},
        tracking_arn=env.get("MLFLOW_TRACKING_ARN", ""),
        tuning_trials=tuning_trials(env.get(TUNING_TRIALS_VARIABLE, TUNING_TRIALS)),
    )


def tuning_trials(value: str | int) -> int:
    """A count of tuning trials: a whole number, 0 for none."""
    text = str(value).strip()
    if not text.isdigit():
        raise SettingsError(
            f"{TUNING_TRIALS_VARIABLE}={value!r}: expected a whole number of trials, 0 for none"
        )
    return int(text)
