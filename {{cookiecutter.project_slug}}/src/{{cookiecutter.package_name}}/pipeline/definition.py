"""The SageMaker Pipeline: the package's own steps, run on SageMaker, gated, then registered.

    Preprocess -> Train -> Evaluate -> QualityGate -> Register (PendingManualApproval) -> Track
                  \\-> Baseline -------------/  \\-> TrackUnregistered -> QualityGateFailed

With settings.TUNING_TRIALS (or $TUNING_TRIALS) above 0, Train is a Tune step: that many
training jobs over train/hyperparameters.py's SEARCH_SPACE, and the best by the primary metric
goes on (`tuning_step`). ProcessingInstanceCount spreads Preprocess, and TrainingInstanceCount
the training jobs, across instances, each reading its share of the data (ShardedByS3Key).

The quality gate registers a model that reaches the threshold and is not worse than the
champion, the newest Approved version of the release branch's group: Evaluate scores both on
the same test rows and records the comparison in evaluation.json (evaluate/core.py), and the
registered version carries its summary in its metadata, for the person who approves it. With
settings.BIAS_GATE it also refuses a model whose disparity between the groups of a sensitive
feature exceeds settings.BIAS_THRESHOLDS (bias.json, evaluate/bias.py). Evaluate's explanations
and bias assessment are the version's explainability and bias reports, and its evaluation.html
(the curves, explanations and bias, drawn) is named in the version's metadata. Each execution,
whether the gate registers its model or not, is logged as one MLflow run by a Track step
(tracking/) to the MlflowTrackingUri parameter's server; a registered version's metadata then
names its run.

Every job runs this package (see `code.py`) in a prebuilt image from `settings`: preprocess,
evaluate and the drift baseline (`monitor baseline`) as processing jobs, train as a training
job. The registered model package records both the evaluation (model quality) and the drift
baseline (data quality statistics), so each model version names the baseline its endpoint's
traffic is checked against (infra/monitoring.yml). Outputs follow the S3 layout
`<branch root>/<execution id>/<step>/<output>`; names come from `settings.load()`, so `main`,
`dev` and feature branches get their own pipeline and model package group.

Building the definition needs no AWS account and makes no AWS request of its own: images
resolve from the SDK's bundled tables, the code's S3 URIs from its content, and the bucket is
named rather than looked up. Only `upsert` and `start` (in `__main__`) call AWS. The SDK's
usage telemetry is the SDK's own (a background request whose failure is ignored); opting out
through its config file (TelemetryOptOut) works but makes every build several times slower,
because the SDK re-validates that config on each lookup.
"""

import gc
import os
from dataclasses import asdict

from .. import settings
from ..evaluate import card
from ..monitor.baseline import BASELINE_FILE
from ..tracking import wheelhouse
from ..train.hyperparameters import SEARCH_SPACE, Hyperparameters, is_integer
from .code import PACKAGE, CodeBundle
from .parameters import pipeline_parameters

# The SDK creates an AWS client when imported and fails without a region; default to ours.
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION") or settings.AWS_REGION)
# Building stays offline: otherwise each trainer checks its role with iam:SimulatePrincipalPolicy.
# SageMaker checks the role for real when the pipeline is created and when each job starts.
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")

import boto3
from sagemaker.core import image_uris
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import (
    Channel,
    DataSource,
    MetricDefinition,
    ModelPackageModelCard,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
    S3DataSource,
)
from sagemaker.core.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import (
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import (
    CacheConfig,
    ProcessingStep,
    TrainingStep,
    TuningStep,
)
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, OutputDataConfig
from sagemaker.train.tuner import HyperparameterTuner

# The SDK's modules are a large object graph that lives as long as the process. Frozen, the
# garbage collector no longer walks it, at each collection and at exit (about 1 s of each run).
gc.freeze()

PROCESSING_DIR = "/opt/ml/processing"
PROCESSING_CODE_DIR = f"{PROCESSING_DIR}/code"
TRAINING_CODE_DIR = "/opt/ml/input/data/code"
CONTENT_TYPES = ["text/csv", "application/json"]
METRIC_PATH = f"{settings.REPORT_KEY}.{settings.PRIMARY_METRIC}.value"

# A step is reused when its resolved inputs, image, entrypoint and environment match a run of
# the last 30 days. The code's digest is among them, so changed code always reruns. Data is
# known only by its URI: a new dataset needs a new InputDataUri (the README says so).
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")
# Throttling and transient service faults of the step itself, then jobs that found no capacity.
RETRY_POLICIES = [
    StepRetryPolicy(
        exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
        interval_seconds=10,
        backoff_rate=2.0,
        max_attempts=5,
    ),
    SageMakerJobStepRetryPolicy(
        exception_types=[
            SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
            SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
        ],
        interval_seconds=60,
        backoff_rate=2.0,
        max_attempts=3,
    ),
]


class ArtifactBucketSession(PipelineSession):
    """A pipeline session whose default bucket is the project's artifact bucket, never created.

    The SDK's own `default_bucket()` checks for (and creates) the bucket on every build; the
    artifact bucket is made once per account (see the README), and building needs no account.
    """

    def default_bucket(self) -> str:
        return self._default_bucket


class PackageTrainingStep(TrainingStep):
    """A training step whose container runs `python3 -m <package>.train` directly.

    ModelTrainer sets an entrypoint only together with its own driver scripts, which it uploads
    under a timestamped key on every build (so no two definitions would match). This step keeps
    the image's Python and libraries and runs the package's entry point, which reads the
    standard training contract: channels under /opt/ml/input/data, hyperparameters.json and
    /opt/ml/model.
    """

    @property
    def arguments(self) -> dict:
        request = super().arguments
        request["AlgorithmSpecification"]["ContainerEntrypoint"] = [
            "python3",
            "-m",
            f"{PACKAGE}.train",
        ]
        return request


def session(
    config: settings.Settings, boto_session: boto3.Session | None = None
) -> PipelineSession:
    """The session the pipeline is built (and upserted) with, in the settings' region."""
    return ArtifactBucketSession(
        boto_session=boto_session or boto3.Session(region_name=config.region),
        default_bucket=config.names["artifact_bucket"],
        default_bucket_prefix=config.branch_prefix,
    )


def image(framework_and_version: tuple[str, str], region: str, scope: str = "training") -> str:
    """The prebuilt image's URI, from the SDK's bundled tables (no AWS call)."""
    framework, version = framework_and_version
    return image_uris.retrieve(framework, region=region, version=version, image_scope=scope)


def s3_input(name: str, source, local_path: str, sharded: bool = False) -> ProcessingInput:
    """An input every instance gets whole, or (sharded) a share of the objects each."""
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type="ShardedByS3Key" if sharded else "FullyReplicated",
        ),
    )


def channel(name: str, source, distribution: str) -> Channel:
    """A training input; a Channel, as a tuning job keeps its distribution (InputData's not)."""
    return Channel(
        channel_name=name,
        data_source=DataSource(
            s3_data_source=S3DataSource(
                s3_uri=source, s3_data_type="S3Prefix", s3_data_distribution_type=distribution
            )
        ),
    )


def s3_output(name: str, destination, local_path: str) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=destination, local_path=local_path, s3_upload_mode="EndOfJob"
        ),
    )


def tuning_step(
    trainer, code: CodeBundle, config: settings.Settings, inputs, objective, metrics, retries
) -> TuningStep:
    """The Tune step: config.tuning_trials training jobs over SEARCH_SPACE, the best by the
    objective first.

    A tuning job cannot name its trials' entrypoint: each runs the image's own, the framework's
    training toolkit, in script mode. It unpacks the code archive (setup.py beside the package),
    installs it and runs `python -m <package>.train` with the hyperparameters as options, the
    same entry point a training step runs.
    """
    static = {
        name: value for name, value in asdict(Hyperparameters()).items() if name not in SEARCH_SPACE
    }
    static["sagemaker_program"] = f"{PACKAGE}.train"
    static["sagemaker_submit_directory"] = code.archive_uri(config.branch_root)
    ranges = {
        name: (IntegerParameter if is_integer(name) else ContinuousParameter)(
            span.low, span.high, scaling_type="Logarithmic" if span.log else "Linear"
        )
        for name, span in SEARCH_SPACE.items()
    }
    tuner = HyperparameterTuner(
        model_trainer=trainer(static, "tune"),
        objective_metric_name=objective,
        metric_definitions=[{"Name": m.name, "Regex": m.regex} for m in metrics],
        hyperparameter_ranges=ranges,
        strategy="Bayesian",
        objective_type="Maximize",  # the quality gate keeps models whose metric is high enough
        max_jobs=config.tuning_trials,
        max_parallel_jobs=min(settings.TUNING_PARALLEL_TRIALS, config.tuning_trials),
    )
    return TuningStep(
        name="Tune",
        step_args=tuner.tune(inputs=inputs),
        cache_config=CACHE,
        retry_policies=retries,
    )


def build(
    config: settings.Settings,
    role_arn: str,
    code: CodeBundle,
    pipeline_session: PipelineSession | None = None,
) -> Pipeline:
    """The pipeline for `config`'s branch, its jobs running as `role_arn` with `code`."""
    pipeline_session = pipeline_session or session(config)
    names = config.names
    framework_image = image(settings.FRAMEWORK_IMAGE, config.region)
    code_files = code.files_uri(config.branch_root)

    sdk_types = {str: ParameterString, int: ParameterInteger, float: ParameterFloat}
    parameters = {
        parameter.name: sdk_types[parameter.type](parameter.name, default_value=parameter.default)
        for parameter in pipeline_parameters(config)
    }
    input_data = parameters["InputDataUri"]
    processing_type = parameters["ProcessingInstanceType"]
    processing_count = parameters["ProcessingInstanceCount"]
    training_type = parameters["TrainingInstanceType"]
    training_count = parameters["TrainingInstanceCount"]
    approval_status = parameters["ModelApprovalStatus"]
    threshold = parameters["QualityThreshold"]

    def run_uri(step: str, output: str = ""):
        """<branch root>/<execution id>/<step>/<output>, resolved when the execution runs."""
        values = [config.branch_root, ExecutionVariables.PIPELINE_EXECUTION_ID, step]
        return Join(on="/", values=[*values, output] if output else values)

    def processing_step(
        name,
        module,
        image_uri,
        inputs,
        outputs,
        property_files=(),
        arguments=(),
        env=None,
        instance_count=1,
    ):
        """A processing job that runs `python3 -m <package>.<module>` with the code mounted."""
        processor = Processor(
            role=role_arn,
            image_uri=image_uri,
            instance_count=instance_count,
            instance_type=processing_type,
            entrypoint=["python3", "-m", f"{PACKAGE}.{module}"],
            env={"PYTHONPATH": PROCESSING_CODE_DIR, **(env or {})},
            base_job_name=f"{names['pipeline_name']}-{name.lower()}",
            sagemaker_session=pipeline_session,
            tags=config.tags,
        )
        code_input = s3_input("code", code_files, PROCESSING_CODE_DIR)
        return ProcessingStep(
            name=name,
            step_args=processor.run(
                inputs=[code_input, *inputs], outputs=outputs, arguments=list(arguments) or None
            ),
            property_files=list(property_files),
            cache_config=CACHE,
            retry_policies=RETRY_POLICIES,
        )

    # The one step that spreads across ProcessingInstanceCount instances: each reads its share
    # of the input's files and writes its part of each split (data/__main__.py). The others
    # read the splits a chunk at a time, on one instance: more would repeat their work.
    preprocess = processing_step(
        "Preprocess",
        "data",
        framework_image,
        inputs=[s3_input("input", input_data, f"{PROCESSING_DIR}/input", sharded=True)],
        outputs=[
            s3_output(name, run_uri("preprocess", name), f"{PROCESSING_DIR}/output/{name}")
            for name in (*settings.SPLITS, settings.DATA_MANIFEST_DIR)
        ],
        instance_count=processing_count,
    )
    split_uri = {
        name: preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
        for name in (*settings.SPLITS, settings.DATA_MANIFEST_DIR)
    }

    # Each training instance reads its share of the train split's files (train/distributed.py).
    train_inputs = [
        channel("train", split_uri["train"], "ShardedByS3Key"),
        channel("validation", split_uri["validation"], "FullyReplicated"),
    ]
    objective = f"validation:{settings.PRIMARY_METRIC}"
    metric_definitions = [MetricDefinition(name=objective, regex=rf"{objective}=([-0-9.eE]+|nan)")]

    def trainer(hyperparameters: dict, output: str, environment=None) -> ModelTrainer:
        return ModelTrainer(
            training_image=framework_image,
            role=role_arn,
            compute=Compute(instance_type=training_type, instance_count=training_count),
            hyperparameters=hyperparameters,
            environment=environment,
            output_data_config=OutputDataConfig(s3_output_path=run_uri(output)),
            base_job_name=f"{names['pipeline_name']}-{output}",
            sagemaker_session=pipeline_session,
            tags=[{"key": key, "value": value} for key, value in config.tags.items()],
        ).with_metric_definitions(metric_definitions)

    if config.tuning_trials:
        train = tuning_step(
            trainer, code, config, train_inputs, objective, metric_definitions, RETRY_POLICIES
        )
        # Trials are listed best first: the first's model is the best (TuningStep's top model).
        best_job = train.properties.TrainingJobSummaries[0].TrainingJobName
        model_data = Join(on="/", values=[run_uri("tune"), best_job, "output/model.tar.gz"])
    else:
        train = PackageTrainingStep(
            name="Train",
            step_args=trainer(
                asdict(Hyperparameters()), "train", {"PYTHONPATH": TRAINING_CODE_DIR}
            ).train(
                input_data_config=[
                    InputData(channel_name="code", data_source=code_files),
                    *train_inputs,
                ]
            ),
            cache_config=CACHE,
            retry_policies=RETRY_POLICIES,
        )
        model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path=settings.REPORT_FILE
    )
    bias = PropertyFile(name="BiasReport", output_name="evaluation", path=settings.BIAS_FILE)
    model_card = PropertyFile(name="ModelCard", output_name="evaluation", path=card.CARD_FILE)
    # Where the model comes from, in its card (Evaluate) and its MLflow run (Track).
    lineage = {
        "code-digest": code.digest,
        "git-commit": parameters["GitCommit"],
        "branch": config.branch,
        "codebuild-build-id": parameters["CodeBuildId"],
        "pipeline-execution": ExecutionVariables.PIPELINE_EXECUTION_ARN,
        "input-data": input_data,
        "model-package-group": names["model_package_group"],
        "model-artifact": model_data,
    }
    lineage_arguments = []
    for key, value in lineage.items():
        lineage_arguments += ["--lineage", Join(on="=", values=[key, value])]
    evaluate = processing_step(
        "Evaluate",
        "evaluate",
        framework_image,
        inputs=[
            s3_input("model", model_data, f"{PROCESSING_DIR}/model"),
            s3_input("test", split_uri["test"], f"{PROCESSING_DIR}/test"),
            s3_input("data", split_uri[settings.DATA_MANIFEST_DIR], f"{PROCESSING_DIR}/data"),
        ],
        outputs=[
            s3_output(
                "evaluation", run_uri("evaluate", "evaluation"), f"{PROCESSING_DIR}/evaluation"
            )
        ],
        property_files=[report, bias, model_card],
        arguments=["--champion-group", config.champion_group, *lineage_arguments],
        # The champion is looked up in the pipeline's region, whatever the job's default.
        env={"AWS_DEFAULT_REGION": config.region},
    )
    evaluation_dir = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri

    def evaluation_file(name: str) -> Join:
        return Join(on="/", values=[evaluation_dir, name])

    baseline = processing_step(
        "Baseline",
        "monitor",
        framework_image,
        inputs=[
            s3_input("model", model_data, f"{PROCESSING_DIR}/model"),
            s3_input("train", split_uri["train"], f"{PROCESSING_DIR}/train"),
            s3_input("test", split_uri["test"], f"{PROCESSING_DIR}/test"),
        ],
        outputs=[
            s3_output("baseline", run_uri("baseline", "baseline"), f"{PROCESSING_DIR}/baseline")
        ],
        arguments=["baseline"],
    )
    baseline_dir = baseline.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri
    metric = JsonGet(step_name=evaluate.name, property_file=report, json_path=METRIC_PATH)

    def compared(field: str) -> JsonGet:
        """A field of the champion comparison Evaluate wrote."""
        path = f"{settings.COMPARISON_KEY}.{field}"
        return JsonGet(step_name=evaluate.name, property_file=report, json_path=path)

    def bias_gate(field: str) -> JsonGet:
        """A field of the bias assessment's verdict (evaluate/bias.py)."""
        return JsonGet(step_name=evaluate.name, property_file=bias, json_path=f"gate.{field}")

    register = ModelStep(
        name="Register",
        step_args=ModelBuilder(
            image_uri=image(settings.FRAMEWORK_IMAGE, config.region, scope="inference"),
            s3_model_data_url=model_data,
            role_arn=role_arn,
            env_vars={
                "SAGEMAKER_PROGRAM": f"{PACKAGE}.infer.handler",
                "SAGEMAKER_SUBMIT_DIRECTORY": code.archive_uri(config.branch_root),
                # One thread per worker: the serving containers run a worker per CPU.
                "OMP_NUM_THREADS": "1",
            },
            sagemaker_session=pipeline_session,
        ).register(
            model_package_group_name=names["model_package_group"],
            content_types=CONTENT_TYPES,
            response_types=CONTENT_TYPES,
            inference_instances=[settings.INFERENCE_INSTANCE_TYPE],
            transform_instances=[settings.INFERENCE_INSTANCE_TYPE],
            approval_status=approval_status,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json",
                    s3_uri=evaluation_file(settings.REPORT_FILE),
                ),
                # The drift baseline: where monitoring finds what this model was trained on.
                model_data_statistics=MetricsSource(
                    content_type="application/json",
                    s3_uri=Join(on="/", values=[baseline_dir, BASELINE_FILE]),
                ),
                bias=MetricsSource(
                    content_type="application/json", s3_uri=evaluation_file(settings.BIAS_FILE)
                ),
                explainability=MetricsSource(
                    content_type="application/json",
                    s3_uri=evaluation_file(settings.EXPLAINABILITY_FILE),
                ),
            ),
            # Its model card, as Evaluate wrote it (evaluate/card.py); Track adds the MLflow run.
            model_card=ModelPackageModelCard(
                model_card_content=JsonGet(
                    step_name=evaluate.name, property_file=model_card, json_path="content"
                ),
                model_card_status=JsonGet(
                    step_name=evaluate.name, property_file=model_card, json_path="status"
                ),
            ),
            customer_metadata_properties={
                "branch": config.tags["branch"],  # spelt as metadata values allow
                "code-digest": code.digest,
                "git-commit": parameters["GitCommit"],
                "codebuild-build-id": parameters["CodeBuildId"],
                "pipeline-execution": ExecutionVariables.PIPELINE_EXECUTION_ARN,
                "champion-package": compared("champion_package"),
                "champion-comparison": compared("registry_summary"),
                "bias-assessment": bias_gate("registry_summary"),
                # The page the person approving reads: the curves, explanations and bias.
                settings.EVALUATION_PAGE_METADATA: evaluation_file(settings.EVALUATION_PAGE),
            },
        ),
        retry_policies=RETRY_POLICIES[:1],
    )

    def track(name: str, registered: bool) -> ProcessingStep:
        """The execution logged as one MLflow run (tracking/), with the version it became."""
        arguments = [
            "--experiment",
            names["pipeline_name"],
            "--run-name",
            ExecutionVariables.PIPELINE_EXECUTION_ID,
            *lineage_arguments,
        ]
        if registered:
            arguments += ["--model-package-arn", register.properties.ModelPackageArn]
        return processing_step(
            name,
            "tracking",
            framework_image,
            inputs=[
                s3_input("model", model_data, f"{PROCESSING_DIR}/model"),
                s3_input("evaluation", evaluation_dir, f"{PROCESSING_DIR}/evaluation"),
                s3_input("baseline", baseline_dir, f"{PROCESSING_DIR}/baseline"),
                s3_input("data", split_uri[settings.DATA_MANIFEST_DIR], f"{PROCESSING_DIR}/data"),
                s3_input("test", split_uri["test"], f"{PROCESSING_DIR}/test"),
            ],
            outputs=[],
            arguments=arguments,
            env={
                settings.TRACKING_URI_VARIABLE: parameters["MlflowTrackingUri"],
                wheelhouse.WHEELHOUSE_VARIABLE: wheelhouse_uri,
                "AWS_DEFAULT_REGION": config.region,
            },
        )

    # MLflow for the Track jobs, which the image lacks: upsert uploads it (tracking/wheelhouse.py).
    wheelhouse_uri = wheelhouse.location(wheelhouse.project_wheels(), config.use_case_root)
    track_unregistered = track("TrackUnregistered", registered=False)
    gate_failed = FailStep(
        name="QualityGateFailed",
        depends_on=[track_unregistered],
        error_message=Join(
            on="",
            values=[
                f"Quality gate failed: {settings.PRIMARY_METRIC} ",
                metric,
                " against the threshold ",
                threshold,
                "; ",
                compared("summary"),
                "; bias: ",
                bias_gate("summary"),
                "; the model was not registered.",
            ],
        ),
    )
    gate = ConditionStep(
        name="QualityGate",
        conditions=[
            ConditionGreaterThanOrEqualTo(left=metric, right=threshold),
            ConditionEquals(left=compared("not_worse"), right=True),
            ConditionEquals(left=bias_gate("passes"), right=True),
        ],
        if_steps=[register, track("Track", registered=True)],
        else_steps=[track_unregistered, gate_failed],
    )
    return Pipeline(
        name=names["pipeline_name"],
        parameters=list(parameters.values()),
        steps=[preprocess, train, evaluate, baseline, gate],
        sagemaker_session=pipeline_session,
    )
