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
import pytest
from conftest import TEST_ENVIRONMENT, require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.pipeline import code
from {{ cookiecutter.package_name }}.pipeline.executor import ExecutionError, Executor, RunFolder
from {{ cookiecutter.package_name }}.pipeline.expressions import Execution, parameter_values
from {{ cookiecutter.package_name }}.pipeline.local import interpreter_of, preloaded_modules

require_sdk()
pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")

ROLE_ARN = f"arn:aws:iam::{settings.DEV_ACCOUNT_ID}:role/pipeline-tests"


@pytest.fixture(scope="module")
def config() -> settings.Settings:
    return settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})


@pytest.fixture(scope="module")
def definition(config) -> dict:
    from {{ cookiecutter.package_name }}.pipeline import definition

    boto_session = boto3.Session(region_name=config.region)
    built = definition.build(
        config, ROLE_ARN, code.collect(), definition.session(config, boto_session)
    )
    return json.loads(built.definition())


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
    """Stage the sample data and the code bundle in S3 (a folder), then run a definition."""
    folder = RunFolder(tmp_path / "run")
    registered = []

    def run(document: dict, files=None, **given: str):
        """`files` replaces the bundle's files, at the location the definition names."""
        bundle = code.collect()
        parameters = parameter_values(document["Parameters"], given)
        data_dir = folder.s3(parameters["InputDataUri"], "test")
        data_dir.mkdir(parents=True)
        (data_dir / sample_path.name).write_bytes(sample_path.read_bytes())
        code_dir = folder.s3(bundle.files_uri(config.branch_root), "test")
        for path, data in bundle.files if files is None else files:
            (code_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (code_dir / path).write_bytes(data)
        execution = Execution(
            parameters=parameters,
            variables={
                "PipelineExecutionId": "local1",
                "PipelineExecutionArn": f"arn:aws:sagemaker:{config.region}:{config.dev_account_id}"
                f":pipeline/{config.names['pipeline_name']}/execution/local1",
                "PipelineName": config.names["pipeline_name"],
            },
        )

        def register(step: str, request: dict) -> dict:
            registered.append(request)
            return {"ModelPackageArn": f"{request['ModelPackageGroupName']}/1"}

        executor = Executor(
            document,
            folder,
            execution,
            interpreter_of,
            register,
            job_environment={"ML_THREADS": "1"},
            preload=preloaded_modules(bundle),
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


def test_a_wrong_output_name_fails_the_step_that_reads_it(definition, execute):
    broken = copy.deepcopy(definition)
    [_, channel, _] = steps(broken)["Train"]["Arguments"]["InputDataConfig"]
    source = channel["DataSource"]["S3DataSource"]
    source["S3Uri"]["Get"] = source["S3Uri"]["Get"].replace("['train']", "['training']")
    with pytest.raises(ExecutionError, match=r"^step Train: .*nothing at .*'training'"):
        execute(broken)


def test_a_file_left_out_of_the_bundle_fails_the_job_that_imports_it(definition, execute):
    missing = "{{ cookiecutter.package_name }}/evaluate/core.py"
    files = [file for file in code.collect().files if file[0] != missing]
    with pytest.raises(ExecutionError, match=r"^step Train: the job exited .*evaluate.core"):
        execute(definition, files=files)


def test_a_wrong_json_get_path_fails_the_gate_naming_it(definition, execute):
    broken = copy.deepcopy(definition)
    [condition] = steps(broken)["QualityGate"]["Arguments"]["Conditions"]
    condition["LeftValue"]["Std:JsonGet"]["Path"] += "_typo"
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
