"""The project's own definition, the JSON `upsert` uploads, executed on this machine.

Each job runs as a subprocess of this environment (the image's versions) on the code bundle
`upsert` would upload, not on the work tree; a wire the definition gets wrong fails here and
names its step. The jobs are forked warm (`starter.py`), so each execution takes a few
seconds; the gate's Fail message is tested through `make run-local` (test_local_pipeline.py).
"""

import copy
import json
import tarfile

import boto3
import botocore.session
import moto
import pytest
from botocore.validate import validate_parameters
from conftest import TEST_ENVIRONMENT, require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data import schema
from {{ cookiecutter.package_name }}.pipeline import code, local
from {{ cookiecutter.package_name }}.pipeline.executor import ExecutionError, FailStepError, RunFolder
from {{ cookiecutter.package_name }}.pipeline.expressions import parameter_values

require_sdk()
pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")


@pytest.fixture(scope="module")
def config() -> settings.Settings:
    return settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})


@pytest.fixture(scope="module")
def definition(config) -> dict:
    """The definition run-local executes: built once per code and settings, as it builds it."""
    return local.built_definition(config, code.collect(), settings.DEFINITION_CACHE_DIR)


def steps(document: dict) -> dict[str, dict]:
    found = {}
    for step in document["Steps"]:
        found[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                found[inner["Name"]] = inner
    return found


@pytest.fixture
def execute(tmp_path, config, sample_path):
    """Stage the sample data and the code bundle as run-local does, then run a definition."""
    folder = RunFolder(tmp_path / "local1")  # the execution id
    registered = []

    def run(
        document: dict,
        leave_out: str | None = None,
        amend: dict[str, str] | None = None,
        **given: str,
    ):
        """`leave_out`: a file of the bundle, deleted once staged, as if the bundle lacked it;
        `amend`: files of the bundle and lines added to each once staged, as if the code said so.
        """
        bundle = code.collect()
        parameters = parameter_values(document["Parameters"], given)
        local.stage(folder, sample_path, parameters["InputDataUri"], bundle, config.branch_root)
        staged = folder.s3(bundle.files_uri(config.branch_root), "test")
        if leave_out:
            (staged / leave_out).unlink()
        for path, lines in (amend or {}).items():
            with (staged / path).open("a") as module:
                module.write(lines)

        def register(step: str, request: dict) -> dict:
            registered.append(request)
            return {"ModelPackageArn": f"{request['ModelPackageGroupName']}/1"}

        preload = local.preloaded_modules(bundle)
        executor = local.new_executor(
            document,
            folder,
            parameters,
            config,
            register,
            preload,
            tmp_path / "registry",
            job_environment={"ML_THREADS": "1"},
            log=lambda line: None,
        )
        return executor.run()

    run.folder, run.registered = folder, registered
    return run


def test_the_definition_trains_evaluates_and_registers_on_this_machine(definition, execute):
    records = execute(definition, QualityThreshold="0")
    assert records["Register"]["StepStatus"] == "Succeeded"
    assert records["QualityGateFailed"]["StepStatus"] == "NotExecuted"
    [request] = execute.registered
    assert request["ModelApprovalStatus"] == settings.PENDING_APPROVAL
    assert request["CustomerMetadataProperties"]["pipeline-execution"].endswith("/execution/local1")
    metrics = request["ModelMetrics"]
    report_path = execute.folder.s3(metrics["ModelQuality"]["Statistics"]["S3Uri"], "test")
    report = json.loads(report_path.read_text())
    assert 0 <= report[settings.REPORT_KEY][settings.PRIMARY_METRIC]["value"] <= 1
    assert execute.folder.s3(metrics["ModelDataQuality"]["Statistics"]["S3Uri"], "test").is_file()
    [container] = request["InferenceSpecification"]["Containers"]
    assert container["Environment"]["SAGEMAKER_PROGRAM"].startswith("{{ cookiecutter.package_name }}.infer")
    with tarfile.open(execute.folder.s3(container["ModelDataUrl"], "test")) as archive:
        assert "model.json" in archive.getnames()
    # The request SageMaker would get, model card and all: valid by botocore's model of the API,
    # and accepted by moto.
    card_status = request["ModelCard"]["ModelCardStatus"]
    assert card_status == "PendingReview" and json.loads(request["ModelCard"]["ModelCardContent"])
    operation = botocore.session.get_session().get_service_model("sagemaker")
    validate_parameters(request, operation.operation_model("CreateModelPackage").input_shape)
    with moto.mock_aws():
        client = boto3.client("sagemaker", region_name=settings.AWS_REGION)
        client.create_model_package_group(ModelPackageGroupName=request["ModelPackageGroupName"])
        assert client.create_model_package(**request)["ModelPackageArn"]


def bias_settings(sample_frame, gate: bool) -> dict[str, str]:
    """The first feature declared sensitive (split at its median), every disparity beyond."""
    first = schema.FEATURES[0]
    sensitive = {first: (float(sample_frame[first].median()),)}
    return {
        "{{ cookiecutter.package_name }}/data/schema.py": f"\nSENSITIVE_FEATURES = {sensitive!r}\n",
        "{{ cookiecutter.package_name }}/settings.py": (
            f"\nBIAS_GATE = {gate}\nBIAS_THRESHOLDS = dict.fromkeys(BIAS_THRESHOLDS, 0.0)\n"
            "BIAS_MIN_GROUP_SIZE = 1\n"
        ),
    }


def test_the_bias_gate_refuses_a_model_beyond_the_thresholds(definition, execute, sample_frame):
    with pytest.raises(FailStepError, match="disparity beyond the thresholds") as failed:
        execute(definition, amend=bias_settings(sample_frame, gate=True), QualityThreshold="0")
    assert failed.value.step == "QualityGateFailed"
    assert f"bias: disparity beyond the thresholds: {schema.FEATURES[0]} " in str(failed.value)
    assert not execute.registered
    # A refused model is tracked too: TrackUnregistered runs before the Fail step.
    record = json.loads((execute.folder.root / "execution.json").read_text())
    statuses = {step["StepName"]: step["StepStatus"] for step in record["Steps"]}
    assert statuses["TrackUnregistered"] == "Succeeded" and statuses["Track"] == "NotExecuted"


def test_without_the_bias_gate_the_version_is_registered_flagged(definition, execute, sample_frame):
    records = execute(
        definition, amend=bias_settings(sample_frame, gate=False), QualityThreshold="0"
    )
    assert records["Register"]["StepStatus"] == "Succeeded"
    [request] = execute.registered
    flagged = request["CustomerMetadataProperties"]["bias-assessment"]
    assert flagged.startswith(f"disparity beyond the thresholds: {schema.FEATURES[0]} ")
    bias_uri = request["ModelMetrics"]["Bias"]["Report"]["S3Uri"]
    bias = json.loads(execute.folder.s3(bias_uri, "test").read_text())
    assert bias["gate"] == {**bias["gate"], "enforced": False, "passes": True}
    assert bias["gate"]["within_thresholds"] is False


def test_a_wrong_output_name_fails_the_step_that_reads_it(definition, execute):
    broken = copy.deepcopy(definition)
    [_, channel, _] = steps(broken)["Train"]["Arguments"]["InputDataConfig"]
    source = channel["DataSource"]["S3DataSource"]
    source["S3Uri"]["Get"] = source["S3Uri"]["Get"].replace("['train']", "['training']")
    with pytest.raises(ExecutionError, match=r"^step Train: .*nothing at .*'training'"):
        execute(broken)


def test_a_file_left_out_of_the_bundle_fails_the_job_that_imports_it(definition, execute):
    with pytest.raises(ExecutionError, match=r"^step Train: the job exited .*evaluate.core"):
        execute(definition, leave_out="{{ cookiecutter.package_name }}/evaluate/core.py")


def test_a_wrong_json_get_path_fails_the_gate_naming_it(definition, execute):
    broken = copy.deepcopy(definition)
    threshold_condition = steps(broken)["QualityGate"]["Arguments"]["Conditions"][0]
    threshold_condition["LeftValue"]["Std:JsonGet"]["Path"] += "_typo"
    with pytest.raises(ExecutionError, match=r"^step QualityGate: .*_typo"):
        execute(broken, QualityThreshold="0")
    assert not execute.registered


def test_a_step_reading_an_output_nobody_wrote_fails_naming_it(definition, execute, config):
    broken = copy.deepcopy(definition)
    [_, _, validation] = steps(broken)["Train"]["Arguments"]["InputDataConfig"]
    nowhere = f"{config.branch_root}/local1/preprocess/holdout"
    validation["DataSource"]["S3DataSource"]["S3Uri"] = nowhere
    with pytest.raises(
        ExecutionError, match=rf"^step Train: input validation: no object under {nowhere}$"
    ):
        execute(broken)
