"""Experiment tracking: each execution one MLflow run, locally, on a server, or not at all."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data.schema import FEATURES
from {{ cookiecutter.package_name }}.pipeline import code, registry
from {{ cookiecutter.package_name }}.pipeline.local import local_tracking_uri
from {{ cookiecutter.package_name }}.pipeline.local import main as run_local
from {{ cookiecutter.package_name }}.tracking.__main__ import main as track

require_sdk()
pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")
mlflow = pytest.importorskip("mlflow")

DOCUMENTS = {
    settings.REPORT_FILE,
    settings.EXPLAINABILITY_FILE,
    settings.BIAS_FILE,
    settings.EVALUATION_PAGE,
    "baseline.json",
    settings.DATA_MANIFEST_FILE,
}


def local_run(folder: Path, sample_path: Path, *extra: str) -> int:
    """`make run-local` on the sample, its runs and registry in `folder`, on main."""
    runs, registry_dir = folder / "runs", folder / "registry"
    args = ["--data", sample_path, "--runs-dir", runs, "--registry-dir", registry_dir, *extra]
    return run_local([str(arg) for arg in args])


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables made, which takes MLflow seconds: made once per
    module, then copied for each test that needs a store of its own."""
    database = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{database}").search_experiments()
    return database


def store_in(folder: Path, empty_store: Path) -> str:
    """A new store in `folder`, from the empty one; its tracking URI."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_store, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, sample_path, empty_store):
    """A local run tracked into a store of its own, as `make run-local` tracks into mlruns/."""
    folder = tmp_path_factory.mktemp("tracked")
    uri = store_in(folder / "mlruns", empty_store)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRANCH_NAME", "main")
        patch.setenv(settings.TRACKING_URI_VARIABLE, uri)
        assert local_run(folder, sample_path) == 0
        [run_dir] = (folder / "runs").iterdir()
        config = settings.load()
    group_dir = folder / "registry" / config.names["model_package_group"]
    return {
        "uri": uri,
        "folder": folder,
        "config": config,
        "registered": run_dir,
        "version": group_dir / "1",
    }


def test_a_local_run_is_one_run_with_every_field(tracked, monkeypatch):
    run_dir, version_dir, uri = tracked["registered"], tracked["version"], tracked["uri"]
    package = json.loads((version_dir / registry.PACKAGE_FILE).read_text())
    metadata = package["CustomerMetadataProperties"]

    # The registered version names its run, which names the execution.
    client = mlflow.MlflowClient(uri)
    run = client.get_run(metadata["mlflow-run-id"])
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    experiment = client.get_experiment(run.info.experiment_id)
    pipeline_name = tracked["config"].names["pipeline_name"]
    assert experiment.name == metadata["mlflow-experiment"] == pipeline_name
    assert experiment.artifact_location.startswith((tracked["folder"] / "mlruns").as_uri())

    hyperparameters = json.loads((version_dir / "model" / "model.json").read_text())
    assert run.data.params == {k: str(v) for k, v in hyperparameters["hyperparameters"].items()}
    report = json.loads((version_dir / settings.REPORT_FILE).read_text())
    for name, entry in report[settings.REPORT_KEY].items():
        if "value" in entry:
            assert run.data.metrics[name] == pytest.approx(entry["value"])
            assert run.data.metrics[f"{name}_std"] == pytest.approx(entry["standard_deviation"])
    tags = run.data.tags
    [data_manifest] = run_dir.glob(f"s3/**/{settings.DATA_MANIFEST_FILE}")
    assert tags["data-digest"] == json.loads(data_manifest.read_text())["digest"]
    assert tags["code-digest"] == code.collect().digest
    assert tags["branch"] == "main"
    assert tags["pipeline-execution"].endswith(f"/execution/{run_dir.name}")
    assert tags["input-data"].startswith("s3://")
    assert tags["model-package-arn"] == package["ModelPackageArn"]
    assert tags["registered"] == "true"
    assert tags["champion-comparison"] == report[settings.COMPARISON_KEY]["summary"]
    assert {item.path for item in client.list_artifacts(run.info.run_id)} == DOCUMENTS

    # The model, in MLflow's format, with the signature of the features it takes.
    [logged_model] = [
        model
        for model in client.search_logged_models([experiment.experiment_id])
        if model.source_run_id == run.info.run_id
    ]
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, uri)  # where models:/ URIs resolve
    signature = mlflow.models.get_model_info(logged_model.model_uri).signature
    assert signature.inputs.input_names() == list(FEATURES)


@pytest.fixture(scope="module")
def track_inputs(tracked) -> tuple[Path, dict]:
    """The Track job's inputs, as the local run staged them; its registered version."""
    package = json.loads((tracked["version"] / registry.PACKAGE_FILE).read_text())
    return tracked["registered"] / "jobs" / "Track" / "processing", package


def track_arguments(inputs: Path, *extra: str) -> list[str]:
    folders = ("model", "evaluation", "baseline", "data", "test")
    arguments = [f"--{name}-dir={inputs / name}" for name in folders]
    return [*arguments, "--experiment", "tested", "--run-name", "run1", *extra]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, empty_store):
    """An MLflow tracking server on this machine, serving its artifacts itself."""
    folder = tmp_path_factory.mktemp("server")
    store = store_in(folder, empty_store)
    port = free_port()
    server = subprocess.Popen(
        [
            Path(sys.executable).with_name("mlflow"),
            "server",
            "--backend-store-uri",
            store,
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # No job runner: its eight processes serve MLflow's GenAI jobs, not tracking.
        env={
            **os.environ,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        },
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{uri}/health", timeout=1)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "no MLflow server"
            time.sleep(0.2)
    yield uri
    server.terminate()
    server.wait()


def test_the_job_logs_to_a_tracking_server(track_inputs, mlflow_server, monkeypatch, capsys):
    inputs, _ = track_inputs
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, mlflow_server)
    assert track(track_arguments(inputs, "--lineage", "git-commit=abc1234")) == 0
    assert f"at {mlflow_server}" in capsys.readouterr().out
    client = mlflow.MlflowClient(mlflow_server)
    [run] = client.search_runs([client.get_experiment_by_name("tested").experiment_id])
    assert run.data.tags["git-commit"] == "abc1234" and run.data.tags["registered"] == "false"
    assert {item.path for item in client.list_artifacts(run.info.run_id)} == DOCUMENTS


def test_the_job_names_its_run_on_the_registered_version(
    track_inputs, tmp_path, monkeypatch, empty_store
):
    inputs, package = track_inputs
    registry_dir = tmp_path / "registry"
    shutil.copytree(inputs.parents[4] / "registry", registry_dir)  # <folder>/runs/<id>/jobs/..
    uri = store_in(tmp_path / "mlruns", empty_store)
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, uri)
    monkeypatch.setenv(settings.LOCAL_REGISTRY_VARIABLE, str(registry_dir))
    arn = package["ModelPackageArn"]
    assert track(track_arguments(inputs, "--model-package-arn", arn)) == 0
    version_dir = registry.version_dir_of(registry_dir, arn)
    metadata = json.loads((version_dir / registry.PACKAGE_FILE).read_text())[
        "CustomerMetadataProperties"
    ]
    run = mlflow.MlflowClient(uri).get_run(metadata["mlflow-run-id"])
    assert run.data.tags["model-package-arn"] == arn
    assert metadata["mlflow-experiment"] == "tested"
    # And its model card's lineage, kept in the card a person reads.
    assert f"- mlflow-run-id: {run.info.run_id}" in (version_dir / "model_card.md").read_text()


@pytest.fixture
def unreachable(monkeypatch):
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # refused at once, not retried


def test_an_unreachable_server_warns_once_and_the_step_succeeds(track_inputs, unreachable, capsys):
    inputs, _ = track_inputs
    assert track(track_arguments(inputs)) == 0
    error = capsys.readouterr().err
    assert error.startswith("track: warning: MLflow tracking at http://127.0.0.1:")
    assert error.endswith("; the pipeline goes on untracked\n") and error.count("\n") == 1


def test_strict_tracking_fails_the_step(track_inputs, unreachable, monkeypatch, capsys):
    monkeypatch.setattr(settings, "TRACKING_STRICT", True)
    inputs, _ = track_inputs
    with pytest.raises(SystemExit) as exited:
        track(track_arguments(inputs))
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith("track: error: MLflow tracking at ") and error.count("\n") == 1


def test_without_a_tracking_uri_nothing_is_logged(track_inputs, capsys):
    inputs, _ = track_inputs
    assert track(track_arguments(inputs)) == 0
    assert "nothing logged" in capsys.readouterr().out


def test_a_relative_store_means_the_folder_the_run_starts_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, "sqlite:///mine/mlflow.db")
    assert local_tracking_uri() == f"sqlite:///{tmp_path / 'mine' / 'mlflow.db'}"
    monkeypatch.setenv(settings.TRACKING_URI_VARIABLE, "http://127.0.0.1:5000")
    assert local_tracking_uri() == "http://127.0.0.1:5000"
