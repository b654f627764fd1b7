"""The scoring pipeline: a dated batch of files scored with an approved model, then checked.

    Score -> DriftCheck

Score runs `python -m <package>.infer` as a processing job on every CSV file under
`<scoring root>/input/<BatchDate>/`, with the model version's own archive and code (the code an
endpoint of that version serves with: the same handler rules and refusals). Each execution
writes under a prefix of its own, so no batch output is ever overwritten:

    <scoring root>/output/<BatchDate>/<execution id>/predictions/  each input file, its rows
        as written with the predictions appended, and manifest.json (the model package ARN
        and version, the code digest, the files and their rows in and out)
    <scoring root>/output/<BatchDate>/<execution id>/drift/        drift.json and drift.html

Every input row gets exactly one output row, in order, or Score fails naming the file and
line, and nothing is written. DriftCheck then runs the endpoint's drift check
(`python -m <package>.monitor check`) on the batch's inputs and predictions against the model's
baseline, and publishes the same metrics to MetricsNamespace, with the pipeline's name as the
PipelineName dimension (an empty namespace publishes none, as on a laptop).

Why processing jobs and not a Transform step: the scoring runs this package's batch path on
whole files (pandas parses the feature columns at once, about 2x faster than the floor of
reading, predicting and writing), whereas a transform job posts mini-batches to the serving web
server; the manifest and the row check belong to the job that writes the outputs; and the local
executor runs processing jobs, so the laptop runs this very definition (`make score`).

The model is named by parameters, not looked up: a deployment builds the definition with the
approved version's values as defaults (deploy/), so each stage scores with the version it was
given, like its endpoint; a local run passes the local registry's version (`score.py`).
`ApprovedModel.of` reads both from a model package as DescribeModelPackage returns it, which is
also what the local registry records. Building makes no AWS request, as `definition.py`.
"""

from .. import settings
from ..monitor.baseline import BASELINE_FILE
from .code import PACKAGE

# The SDK's classes as definition.py imports them: it readies the environment the SDK needs.
from .definition import (
    PROCESSING_CODE_DIR,
    PROCESSING_DIR,
    RETRY_POLICIES,
    ExecutionVariables,
    Join,
    ParameterString,
    Pipeline,
    PipelineSession,
    ProcessingStep,
    Processor,
    s3_input,
    s3_output,
    session,
)
from .parameters import MODEL_PARAMETERS, ApprovedModel

# Where each job finds its inputs and leaves its outputs.
MODEL_DIR = f"{PROCESSING_DIR}/model"
INPUT_DIR = f"{PROCESSING_DIR}/input"
PREDICTIONS_DIR = f"{PROCESSING_DIR}/predictions"
BASELINE_DIR = f"{PROCESSING_DIR}/baseline"
SCORED_DIR = f"{PROCESSING_DIR}/scored"
REPORT_DIR = f"{PROCESSING_DIR}/report"


def build(
    config: settings.Settings,
    role_arn: str,
    root: str,
    model: ApprovedModel | None = None,
    metrics_namespace: str = "",
    pipeline_session: PipelineSession | None = None,
    name: str | None = None,
    instance_type: str = settings.PROCESSING_INSTANCE_TYPE,
) -> Pipeline:
    """The scoring pipeline `name` (default: the branch's), its jobs running as `role_arn`, its
    batches under `root`.

    With `model`, that version's values are the defaults of the model parameters; without, an
    execution must give them. MetricsNamespace and ProcessingInstanceType default to
    `metrics_namespace` and `instance_type`.
    """
    pipeline_session = pipeline_session or session(config)
    name = name or config.names["scoring_pipeline_name"]
    defaults = model.parameters() if model else {}
    parameters = {
        key: ParameterString(key, default_value=defaults.get(key)) for key in MODEL_PARAMETERS
    }
    parameters["BatchDate"] = ParameterString("BatchDate")
    parameters["MetricsNamespace"] = ParameterString(
        "MetricsNamespace", default_value=metrics_namespace
    )
    parameters["ProcessingInstanceType"] = ParameterString(
        "ProcessingInstanceType", default_value=instance_type
    )
    batch_date = parameters["BatchDate"]

    def execution_uri(*parts: str):
        """<root>/output/<batch date>/<execution id>/<parts>, resolved when it runs."""
        values = [root, "output", batch_date, ExecutionVariables.PIPELINE_EXECUTION_ID]
        return Join(on="/", values=[*values, *parts])

    def processing_step(step_name: str, module: str, inputs, outputs, arguments):
        """One job (a single instance) running `python3 -m <package>.<module>` in the model's
        image on the model's code."""
        processor = Processor(
            role=role_arn,
            image_uri=parameters["ImageUri"],
            instance_count=1,
            instance_type=parameters["ProcessingInstanceType"],
            entrypoint=["python3", "-m", f"{PACKAGE}.{module}"],
            env={"PYTHONPATH": PROCESSING_CODE_DIR},
            base_job_name=f"{name}-{step_name.lower()}",
            sagemaker_session=pipeline_session,
            tags=config.tags,
        )
        code_input = s3_input("code", parameters["CodeUri"], PROCESSING_CODE_DIR)
        return ProcessingStep(
            name=step_name,
            step_args=processor.run(
                inputs=[code_input, *inputs], outputs=outputs, arguments=arguments
            ),
            retry_policies=RETRY_POLICIES,
        )

    input_uri = Join(on="/", values=[root, "input", batch_date, ""])
    predictions_uri = execution_uri("predictions")
    score = processing_step(
        "Score",
        "infer",
        inputs=[
            s3_input("model", parameters["ModelDataUrl"], MODEL_DIR),
            s3_input("input", input_uri, INPUT_DIR),
        ],
        outputs=[s3_output("predictions", predictions_uri, PREDICTIONS_DIR)],
        arguments=[
            *("--model-dir", MODEL_DIR, "--input", INPUT_DIR, "--output-dir", PREDICTIONS_DIR),
            *("--input-uri", input_uri, "--output-uri", predictions_uri),
            *("--model-package-arn", parameters["ModelPackageArn"]),
            *("--model-package-version", parameters["ModelPackageVersion"]),
            *("--code-digest", parameters["CodeDigest"]),
        ],
    )
    scored = score.properties.ProcessingOutputConfig.Outputs["predictions"].S3Output.S3Uri
    drift_check = processing_step(
        "DriftCheck",
        "monitor",
        inputs=[
            s3_input("baseline", parameters["BaselineUri"], BASELINE_DIR),
            s3_input("scored", scored, SCORED_DIR),
        ],
        outputs=[s3_output("report", execution_uri("drift"), REPORT_DIR)],
        arguments=[
            *("check", "--baseline", f"{BASELINE_DIR}/{BASELINE_FILE}", "--capture", SCORED_DIR),
            *("--output-dir", REPORT_DIR, "--pipeline-name", name, "--region", config.region),
            *("--metrics-namespace", parameters["MetricsNamespace"]),
        ],
    )
    return Pipeline(
        name=name,
        parameters=list(parameters.values()),
        steps=[score, drift_check],
        sagemaker_session=pipeline_session,
    )
