"""The pipelines' parameters: name, type, default and what a value must be.

Standard library only: `definition.py` builds the SageMaker parameters from this list, and the
command line checks `start --parameter Name=Value` against it before any AWS call. The scoring
pipeline (`scoring.py`) names the model version it scores with by parameters (ApprovedModel).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import settings
from .code import files_uri_of

# What GitCommit and CodeBuildId say of an execution started by hand, not by the train build.
NOT_FROM_CI = "local"
# The statuses SageMaker accepts for a new model package.
APPROVAL_STATUSES = (settings.PENDING_APPROVAL, settings.APPROVED, "Rejected")


class ParameterError(ValueError):
    """A parameter value the pipeline would refuse or misread; the message says why."""


def _s3_uri(value: str) -> str:
    if not value.startswith("s3://") or len(value) <= len("s3://"):
        raise ParameterError(f"{value!r} is not an S3 URI; expected s3://<bucket>/<prefix>/")
    return value


def _instance_type(value: str) -> str:
    if not value.startswith("ml."):
        raise ParameterError(f"{value!r} is not a SageMaker instance type, e.g. ml.m5.large")
    return value


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ParameterError(f"{value!r} is not a whole number of instances, at least 1")
    return int(value)


def _training_count(value: str) -> int:
    count = _count(value)
    if count > 1 and settings.MODEL_FRAMEWORK == "sklearn":
        raise ParameterError(
            f"{count} instances: scikit-learn trains on one, and more would only repeat its fit; "
            "choose a larger TrainingInstanceType instead"
        )
    return count


def _approval_status(value: str) -> str:
    if value not in APPROVAL_STATUSES:
        raise ParameterError(f"{value!r} is not one of {', '.join(APPROVAL_STATUSES)}")
    return value


def _commit(value: str) -> str:
    if value != NOT_FROM_CI and not re.fullmatch(r"[0-9a-f]{7,40}", value):
        raise ParameterError(f"{value!r} is not a git commit id (7 to 40 hex digits)")
    return value


def _build_id(value: str) -> str:
    if value != NOT_FROM_CI and not re.fullmatch(r"[\w.-]{1,150}:[\w-]{1,100}", value):
        raise ParameterError(f"{value!r} is not a CodeBuild build id (<project>:<build uuid>)")
    return value


def _tracking_uri(value: str) -> str:
    schemes = ("arn:", "http://", "https://", "sqlite:///", "file:")
    if value and not value.startswith(schemes):
        raise ParameterError(
            f"{value!r} is not an MLflow tracking URI: an MLflow App or tracking server ARN, "
            "http(s)://, sqlite:/// or file:, or empty to track nothing"
        )
    return value


def _threshold(value: str) -> float:
    try:
        return settings.quality_threshold(value)
    except settings.SettingsError as error:
        raise ParameterError(str(error)) from None


@dataclass(frozen=True)
class Parameter:
    """One pipeline parameter; `parse` turns a command-line value into its typed value."""

    name: str
    default: str | int | float
    parse: Callable[[str], str | int | float]

    @property
    def type(self) -> type:
        return type(self.default)


def pipeline_parameters(config: settings.Settings) -> list[Parameter]:
    """Every parameter of the pipeline, in the order the definition lists them."""
    return [
        Parameter("InputDataUri", config.input_data_uri, _s3_uri),
        Parameter("ProcessingInstanceType", settings.PROCESSING_INSTANCE_TYPE, _instance_type),
        Parameter("ProcessingInstanceCount", 1, _count),
        Parameter("TrainingInstanceType", settings.TRAINING_INSTANCE_TYPE, _instance_type),
        Parameter("TrainingInstanceCount", 1, _training_count),
        Parameter("ModelApprovalStatus", settings.PENDING_APPROVAL, _approval_status),
        Parameter("QualityThreshold", settings.QUALITY_THRESHOLD, _threshold),
        # Recorded in the registered model package, so every model traces back to its build.
        Parameter("GitCommit", NOT_FROM_CI, _commit),
        Parameter("CodeBuildId", NOT_FROM_CI, _build_id),
        # Where the Track step logs the execution's MLflow run (tracking/); empty: nowhere.
        Parameter("MlflowTrackingUri", config.tracking_arn, _tracking_uri),
    ]


def check(name: str, value: str, config: settings.Settings) -> None:
    """Raise ParameterError unless `name` is a parameter and `value` a valid value of it."""
    known = {parameter.name: parameter for parameter in pipeline_parameters(config)}
    if name not in known:
        raise ParameterError(f"{name!r} is not a parameter; the pipeline has {', '.join(known)}")
    try:
        known[name].parse(value)
    except ParameterError as error:
        raise ParameterError(f"{name}: {error}") from None


# The parameters that name the model version an execution scores with (ApprovedModel).
MODEL_PARAMETERS = (
    "ModelPackageArn",
    "ModelPackageVersion",
    "CodeDigest",
    "ModelDataUrl",
    "ImageUri",
    "CodeUri",
    "BaselineUri",
)


@dataclass(frozen=True)
class ApprovedModel:
    """What the scoring pipeline needs of a model version: its artifacts, image and record."""

    package_arn: str
    version: int
    code_digest: str
    model_data_url: str
    image_uri: str
    code_uri: str
    baseline_uri: str

    @classmethod
    def of(cls, package: dict) -> "ApprovedModel":
        """From a model package as DescribeModelPackage returns it (or the local registry)."""
        [container] = package["InferenceSpecification"]["Containers"]
        metrics = package["ModelMetrics"]
        return cls(
            package_arn=package["ModelPackageArn"],
            version=package["ModelPackageVersion"],
            code_digest=package["CustomerMetadataProperties"]["code-digest"],
            model_data_url=container["ModelDataUrl"],
            image_uri=container["Image"],
            code_uri=files_uri_of(container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"]),
            baseline_uri=metrics["ModelDataQuality"]["Statistics"]["S3Uri"],
        )

    def parameters(self) -> dict[str, str]:
        """The pipeline parameters that name this version."""
        values = (
            self.package_arn,
            str(self.version),
            self.code_digest,
            self.model_data_url,
            self.image_uri,
            self.code_uri,
            self.baseline_uri,
        )
        return dict(zip(MODEL_PARAMETERS, values, strict=True))


def scoring_root(config: settings.Settings) -> str:
    """Where this branch's batches are read and scored in the artifact bucket."""
    return f"{config.branch_root}/scoring"
