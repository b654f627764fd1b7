import json
import subprocess
import sys

import pytest

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.pipeline import local
from {{ cookiecutter.package_name }}.pipeline.local import main


@pytest.fixture
def run_local(tmp_path, sample_path, monkeypatch):
    monkeypatch.setenv("BRANCH_NAME", "feature/local-test")
    runs, registry = tmp_path / "runs", tmp_path / "registry"

    def run(*extra: str) -> int:
        args = ["--data", sample_path, "--runs-dir", runs, "--registry-dir", registry, *extra]
        return main([str(arg) for arg in args])

    run.runs, run.registry = runs, registry
    run.group = settings.load().names["model_package_group"]
    return run


def test_end_to_end_run_registers_and_predicts(run_local, capsys):
    assert run_local() == 0
    [run_dir] = run_local.runs.iterdir()
    report = json.loads((run_dir / "evaluate" / "evaluation.json").read_text())
    assert (run_dir / "train" / "model" / "model.joblib").exists()
    assert (run_dir / "predict" / "predictions.csv").read_text().count("\n") > 1
    package_dir = run_local.registry / run_local.group / "1"
    package = json.loads((package_dir / "model_package.json").read_text())
    assert package["ModelApprovalStatus"] == settings.PENDING_APPROVAL
    assert package["RunId"] == run_dir.name
    assert json.loads((package_dir / "evaluation.json").read_text()) == report
    # The registered version carries the drift baseline its traffic will be checked against.
    assert package["DriftBaseline"] == "baseline.json"
    baseline = (run_dir / "baseline" / "baseline.json").read_bytes()
    assert (package_dir / "baseline.json").read_bytes() == baseline
    output = capsys.readouterr().out
    assert str(run_dir / "predict" / "predictions.csv") in output
    assert f"{settings.PRIMARY_METRIC} = " in output


def test_second_run_keeps_the_first(run_local):
    assert run_local() == 0
    [first_run] = run_local.runs.iterdir()
    first_report = (first_run / "evaluate" / "evaluation.json").read_bytes()
    assert run_local() == 0
    assert len(list(run_local.runs.iterdir())) == 2
    assert (first_run / "evaluate" / "evaluation.json").read_bytes() == first_report
    versions = sorted(path.name for path in (run_local.registry / run_local.group).iterdir())
    assert versions == ["1", "2"]


@pytest.mark.parametrize("step", ["preprocess", "train"])
def test_ctrl_c_is_one_line_and_keeps_what_the_run_wrote(run_local, monkeypatch, capsys, step):
    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(local, step, interrupted)
    assert run_local() == 130
    error = capsys.readouterr().err.strip()
    assert error.startswith("run-local: interrupted;") and "\n" not in error
    if step == "preprocess":  # nothing written yet: no folder is left behind
        assert not any(run_local.runs.iterdir()) and "wrote nothing" in error
    else:
        [run_dir] = run_local.runs.iterdir()
        assert str(run_dir) in error and any((run_dir / "preprocess").rglob("*.csv"))


def test_model_below_the_threshold_is_not_registered(run_local, capsys):
    assert run_local("--threshold", "1") == 1
    error = capsys.readouterr().err
    assert "quality gate failed" in error
    assert settings.PRIMARY_METRIC in error
    assert "below the threshold 1.0" in error
    assert not (run_local.registry / run_local.group).exists()
    [run_dir] = run_local.runs.iterdir()
    assert not (run_dir / "predict").exists()


@pytest.mark.parametrize("threshold", ["-1", "nan", "1.5", "high"])
def test_threshold_outside_zero_to_one_is_refused(run_local, capsys, threshold):
    with pytest.raises(SystemExit) as exit_info:
        run_local("--threshold", threshold)
    assert exit_info.value.code == 2
    assert "expected a number from 0 to 1" in capsys.readouterr().err
    assert not run_local.runs.exists() and not run_local.registry.exists()


def test_make_passes_the_threshold_on():
    command = ["make", "--dry-run", "run-local", "THRESHOLD=0.75"]
    planned = subprocess.run(
        command, cwd=settings.PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "pipeline.local --threshold 0.75" in planned.stdout


def test_default_paths_are_the_projects_wherever_it_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # e.g. notebooks/
    assert settings.SAMPLE_DATA.is_file()
    assert settings.RUNS_DIR == settings.PROJECT_ROOT / "runs"
    assert settings.LOCAL_REGISTRY_DIR == settings.PROJECT_ROOT / "model-registry"


def test_nan_metric_fails_the_gate(run_local, monkeypatch):
    monkeypatch.setattr(local, "metric_from_report", lambda report: float("nan"))
    assert run_local() == 1
    assert not (run_local.registry / run_local.group).exists()


def test_invalid_environment_is_one_clear_line(run_local, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-west-9")
    with pytest.raises(SystemExit) as exit_info:
        run_local()
    assert exit_info.value.code == 2
    assert "run-local: error: AWS region 'eu-west-9'" in capsys.readouterr().err


def test_bad_input_stops_before_training(run_local, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit) as exit_info:
        run_local("--data", bad)
    assert exit_info.value.code == 2
    assert "missing column" in capsys.readouterr().err
    assert not (run_local.registry).exists()
    assert list(run_local.runs.iterdir()) == []  # no empty run folder is left behind


def test_only_the_image_images_toml_records_has_a_local_environment():
    framework, version = settings.FRAMEWORK_IMAGE
    registry = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
    repository = local.IMAGE_REPOSITORIES[framework]
    assert local.interpreter_of(f"{registry}/{repository}:{version}-cpu-py3") == sys.executable
    assert local.interpreter_of(f"{registry}/{repository}:{version}") == sys.executable
    with pytest.raises(LookupError, match=f"images.toml records {framework} {version}"):
        local.interpreter_of(f"{registry}/{repository}:0.23-1-cpu-py3")
