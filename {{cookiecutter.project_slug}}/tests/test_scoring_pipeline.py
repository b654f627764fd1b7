"""The scoring pipeline: its definition, built offline, and `make score` executing it here."""

import csv
import json
import os
import shutil

import boto3
import pytest
from conftest import TEST_ENVIRONMENT, require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.infer.handler import model_fn, predict_fn
from {{ cookiecutter.package_name }}.pipeline import code, local, registry, score
from {{ cookiecutter.package_name }}.pipeline.executor import RunFolder
from {{ cookiecutter.package_name }}.pipeline.parameters import MODEL_PARAMETERS, ApprovedModel

require_sdk()
pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")

PACKAGE = "{{ cookiecutter.package_name }}"
ROLE_ARN = f"arn:aws:iam::{settings.DEV_ACCOUNT_ID}:role/scoring-tests"
ROOT = "s3://bucket/use-case/scoring"


@pytest.fixture(scope="module")
def scoring():
    from {{ cookiecutter.package_name }}.pipeline import scoring

    return scoring


def build(scoring, model=None) -> dict:
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    session = scoring.session(config, boto3.Session(region_name=config.region))
    return json.loads(scoring.build(config, ROLE_ARN, ROOT, model, "ns", session).definition())


@pytest.fixture(scope="module")
def approved(tmp_path_factory):
    """A local registry holding one Approved version, trained here as `make run-local` does."""
    root = tmp_path_factory.mktemp("scoring")
    config = settings.load({**os.environ, "BRANCH_NAME": "main"})
    given = {"ModelApprovalStatus": settings.APPROVED, "QualityThreshold": "0"}
    result = local.run(settings.SAMPLE_DATA, root / "runs", root / "registry", given, config)
    return result.registered_dir


@pytest.fixture
def score_here(approved, tmp_path, monkeypatch):
    """`make score`, with runs in this test's folder; returns the exit status."""
    monkeypatch.setenv("BRANCH_NAME", "main")
    runs = tmp_path / "runs"

    def run(data, *extra) -> int:
        registry_dir = approved.parents[1]
        args = ["--input", data, "--runs-dir", runs, "--registry-dir", registry_dir, *extra]
        return score.main([str(argument) for argument in args])

    run.runs = runs
    return run


def steps_by_name(document: dict) -> dict[str, dict]:
    return {step["Name"]: step for step in document["Steps"]}


def test_score_runs_the_package_on_the_dated_batch_then_the_drift_check_reads_its_output(
    scoring,
):
    document = build(scoring)
    steps = steps_by_name(document)
    assert list(steps) == ["Score", "DriftCheck"]
    for step in steps.values():
        arguments = step["Arguments"]
        assert step["Type"] == "Processing"
        assert arguments["AppSpecification"]["ImageUri"] == {"Get": "Parameters.ImageUri"}
        inputs = {item["InputName"]: item["S3Input"] for item in arguments["ProcessingInputs"]}
        assert inputs["code"]["S3Uri"] == {"Get": "Parameters.CodeUri"}
        assert arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1

    score_step = steps["Score"]["Arguments"]
    assert score_step["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "-m",
        f"{PACKAGE}.infer",
    ]
    inputs = {item["InputName"]: item["S3Input"] for item in score_step["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == {"Get": "Parameters.ModelDataUrl"}
    batch = {"Get": "Parameters.BatchDate"}
    assert inputs["input"]["S3Uri"] == {
        "Std:Join": {"On": "/", "Values": [ROOT, "input", batch, ""]}
    }
    [output] = score_step["ProcessingOutputConfig"]["Outputs"]
    execution = {"Get": "Execution.PipelineExecutionId"}
    values = [ROOT, "output", batch, execution, "predictions"]
    assert output["S3Output"]["S3Uri"] == {"Std:Join": {"On": "/", "Values": values}}
    container_arguments = score_step["AppSpecification"]["ContainerArguments"]
    for option in ("--model-package-arn", "--model-package-version", "--code-digest"):
        assert container_arguments[container_arguments.index(option) + 1]["Get"].startswith(
            "Parameters."
        )

    drift_step = steps["DriftCheck"]["Arguments"]
    assert drift_step["AppSpecification"]["ContainerEntrypoint"][-1] == f"{PACKAGE}.monitor"
    inputs = {item["InputName"]: item["S3Input"] for item in drift_step["ProcessingInputs"]}
    assert inputs["baseline"]["S3Uri"] == {"Get": "Parameters.BaselineUri"}
    scored = "Steps.Score.ProcessingOutputConfig.Outputs['predictions'].S3Output.S3Uri"
    assert inputs["scored"]["S3Uri"] == {"Get": scored}
    check_arguments = drift_step["AppSpecification"]["ContainerArguments"]
    assert check_arguments[0] == "check"
    assert check_arguments[check_arguments.index("--capture") + 1] == inputs["scored"]["LocalPath"]
    name = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"}).names["scoring_pipeline_name"]
    assert check_arguments[check_arguments.index("--pipeline-name") + 1] == name
    namespace = check_arguments[check_arguments.index("--metrics-namespace") + 1]
    assert namespace == {"Get": "Parameters.MetricsNamespace"}


def test_a_deployment_pins_the_version_it_was_given(scoring, approved):
    package = json.loads((approved / registry.PACKAGE_FILE).read_text())
    model = ApprovedModel.of(package)
    assert model.version == package["ModelPackageVersion"]
    assert model.code_digest == package["CustomerMetadataProperties"]["code-digest"]
    assert model.code_uri.endswith("/src/")
    defaults = {
        parameter["Name"]: parameter.get("DefaultValue")
        for parameter in build(scoring, model)["Parameters"]
    }
    assert {name: defaults[name] for name in MODEL_PARAMETERS} == model.parameters()
    assert defaults["BatchDate"] is None  # each execution names its batch
    assert defaults["MetricsNamespace"] == "ns"
    unpinned = {parameter["Name"]: parameter for parameter in build(scoring)["Parameters"]}
    assert not any("DefaultValue" in unpinned[name] for name in MODEL_PARAMETERS)


def test_the_definition_command_writes_the_scoring_pipeline(tmp_path, capsys):
    from {{ cookiecutter.package_name }}.pipeline.__main__ import main

    output = tmp_path / "scoring.json"
    assert main(["definition", "--pipeline", "scoring", "--output", str(output)]) == 0
    document = json.loads(output.read_text())
    assert [step["Name"] for step in document["Steps"]] == ["Score", "DriftCheck"]
    assert "BatchDate" in [parameter["Name"] for parameter in document["Parameters"]]


def scored_files(run_dir, records):
    folder = RunFolder(run_dir)
    outputs = records["Score"]["Properties"]["ProcessingOutputConfig"]["Outputs"]
    return folder.s3(outputs["predictions"]["S3Output"]["S3Uri"], "test")


def test_make_score_scores_every_row_in_order_with_the_approved_version(
    score_here, approved, tmp_path, capsys
):
    batch = tmp_path / "batch"
    batch.mkdir()
    lines = settings.SAMPLE_DATA.read_text().splitlines()
    (batch / "first.csv").write_text("\n".join(lines[:101]) + "\n")
    (batch / "second.csv").write_text("\n".join([lines[0], *lines[101:]]) + "\n")
    assert score_here(batch, "--date", "2026-12-01") == 0
    [run_dir] = score_here.runs.iterdir()
    records = json.loads((run_dir / "execution.json").read_text())
    assert {step["StepName"]: step["StepStatus"] for step in records["Steps"]} == {
        "Score": "Succeeded",
        "DriftCheck": "Succeeded",
    }
    predictions = scored_files(run_dir, {s["StepName"]: s for s in records["Steps"]})
    assert "/output/2026-12-01/" in predictions.as_posix()
    model = model_fn(str(approved / registry.MODEL_DIR))
    for name in ("first.csv", "second.csv"):
        given = (batch / name).read_text().splitlines()
        written = (predictions / name).read_text().splitlines()
        assert len(written) == len(given)
        expected = predict_fn(list(csv.DictReader(given)), model)
        for line, output, prediction in zip(given[1:], written[1:], expected, strict=True):
            assert output.startswith(line + ",")
            values = [float(value) for value in output.removeprefix(line + ",").split(",")]
            assert values == pytest.approx(list(prediction.values()))

    manifest = json.loads((predictions / "manifest.json").read_text())
    package = json.loads((approved / registry.PACKAGE_FILE).read_text())
    assert manifest["model_package_arn"] == package["ModelPackageArn"]
    assert manifest["model_package_version"] == package["ModelPackageVersion"]
    assert manifest["code_digest"] == package["CustomerMetadataProperties"]["code-digest"]
    assert manifest["input"].endswith("/scoring/input/2026-12-01/")
    assert manifest["rows_in"] == manifest["rows_out"] == len(lines) - 1
    assert [item["file"] for item in manifest["files"]] == ["first.csv", "second.csv"]
    drift_dir = predictions.parent / "drift"
    report = json.loads((drift_dir / "drift.json").read_text())
    assert report["rows_checked"] == len(lines) - 1

    output = capsys.readouterr().out
    assert f"{len(lines) - 1} rows of 2 file(s) scored with version" in output
    assert str(predictions / "manifest.json") in output


def test_scoring_again_writes_a_new_prefix_and_leaves_the_last(score_here):
    assert score_here(settings.SAMPLE_DATA) == 0
    [first] = score_here.runs.iterdir()
    written = {path: path.read_bytes() for path in first.rglob("output/*/*/**/*") if path.is_file()}
    assert written
    assert score_here(settings.SAMPLE_DATA) == 0
    assert len(list(score_here.runs.iterdir())) == 2
    assert {path: path.read_bytes() for path in written} == written


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    return error


def test_a_bad_line_names_the_users_file_and_leaves_no_run(score_here, tmp_path, capsys):
    lines = settings.SAMPLE_DATA.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines[:4], "1,2", *lines[4:6]]) + "\n")
    assert score_here(bad) == 2
    error = one_line_error(capsys)
    assert f"{bad}: line 5 has 2 fields but the header has" in error
    assert not score_here.runs.exists() or not any(score_here.runs.iterdir())


@pytest.mark.parametrize(
    ("arrange", "problem"),
    [
        (lambda folder: None, "holds no CSV file; put the batch's *.csv files there"),
        (lambda folder: (folder / "notes.txt").write_text("x"), "notes.txt is not a CSV file"),
        (lambda folder: folder.rmdir(), "no such file or folder"),
    ],
)
def test_an_input_that_is_no_batch_is_refused_before_any_run(
    score_here, tmp_path, capsys, arrange, problem
):
    folder = tmp_path / "batch"
    folder.mkdir()
    arrange(folder)
    with pytest.raises(SystemExit) as exit_info:
        score_here(folder)
    assert exit_info.value.code == 2
    assert f"--input {folder}: {problem}" in one_line_error(capsys)
    assert not score_here.runs.exists()


def test_without_an_approved_version_it_says_how_to_get_one(score_here, tmp_path, capsys):
    arguments = ["--input", str(settings.SAMPLE_DATA), "--registry-dir", str(tmp_path / "empty")]
    with pytest.raises(SystemExit) as exit_info:
        score.main(arguments)
    assert exit_info.value.code == 2
    error = one_line_error(capsys)
    assert "has no Approved version; run make run-local, then python -m" in error


def pending(version_dir):
    registry.set_status(version_dir, settings.PENDING_APPROVAL, None)


def without_its_code(version_dir):  # registered before the registry kept it
    (version_dir / registry.CODE_ARCHIVE).unlink()


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (pending, f"version 99 is {settings.PENDING_APPROVAL}; approve it"),
        (without_its_code, f"has no {code.ARCHIVE_NAME}"),
    ],
)
def test_a_version_it_cannot_score_with_is_refused(score_here, approved, capsys, spoil, problem):
    other = approved.parent / "99"
    shutil.copytree(approved, other)
    spoil(other)
    try:
        with pytest.raises(SystemExit) as exit_info:
            score_here(settings.SAMPLE_DATA, "--version", "99")
    finally:
        shutil.rmtree(other)
    assert exit_info.value.code == 2
    assert problem in one_line_error(capsys)


@pytest.mark.parametrize("date", ["2026-13-01", "yesterday"])
def test_a_batch_date_that_is_no_date_is_refused(score_here, date, capsys):
    with pytest.raises(SystemExit) as exit_info:
        score_here(settings.SAMPLE_DATA, "--date", date)
    assert exit_info.value.code == 2
    assert f"{date!r} is not a date; use YYYY-MM-DD" in capsys.readouterr().err
