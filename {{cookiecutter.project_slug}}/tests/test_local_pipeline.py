"""`make run-local`: the pipeline definition executed here, its registry, messages and refusals."""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data.schema import TARGET
from {{ cookiecutter.package_name }}.pipeline import code, local, registry
from {{ cookiecutter.package_name }}.pipeline.local import main

require_sdk()
pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")


@pytest.fixture
def run_local(tmp_path, sample_path, monkeypatch):
    monkeypatch.setenv("BRANCH_NAME", "main")  # as the other tests: one built definition
    monkeypatch.chdir(tmp_path)  # relative paths, as typed, though each job runs elsewhere
    runs, registry_dir = Path("runs"), Path("registry")

    def run(*extra: str) -> int:
        args = ["--data", sample_path, "--runs-dir", runs, "--registry-dir", registry_dir, *extra]
        return main([str(arg) for arg in args])

    run.runs, run.registry = runs, registry_dir
    run.group = settings.load().names["model_package_group"]
    return run


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, sample_path) -> tuple[Path, str]:
    """One run on main into runs/ and registry/ of a folder of its own, and what it printed:
    where the tests that need a registered version start (`registered`), without a run each."""
    folder = tmp_path_factory.mktemp("first-run")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setenv("BRANCH_NAME", "main")
        patch.setenv(settings.TRACKING_URI_VARIABLE, "")  # before the autouse `untracked`
        patch.chdir(folder)
        args = ["--data", sample_path, "--runs-dir", "runs", "--registry-dir", "registry"]
        assert main([str(arg) for arg in args]) == 0
    return folder, printed.getvalue()


@pytest.fixture
def registered(run_local, first_run):
    """`run_local` after the first run: a copy of its runs and registry, version 1 pending."""
    folder, run_local.printed = first_run
    shutil.copytree(folder / "runs", run_local.runs)
    shutil.copytree(folder / "registry", run_local.registry)
    return run_local


@pytest.fixture
def noisy_data(tmp_path, sample_frame) -> Path:
    """The sample with the targets of every tenth row in reverse order: noise no model can
    learn, so that none scores perfectly on the test set, as the sample's best can."""
    frame = sample_frame.copy()
    noisy = frame.index[::10]
    frame.loc[noisy, TARGET] = frame.loc[noisy, TARGET].to_numpy()[::-1]
    path = tmp_path / "noisy.csv"
    frame.to_csv(path, index=False)
    return path


def execution(run_dir) -> dict:
    record = json.loads((run_dir / "execution.json").read_text())
    return {**record, "Steps": {step["StepName"]: step["StepStatus"] for step in record["Steps"]}}


def test_end_to_end_run_executes_the_definition_registers_and_predicts(registered):
    run_local = registered
    [run_dir] = run_local.runs.iterdir()
    record = execution(run_dir)
    assert record["PipelineExecutionStatus"] == "Succeeded"
    assert record["Steps"]["Register"] == "Succeeded"
    assert record["Steps"]["QualityGateFailed"] == "NotExecuted"
    assert any(local.run_model(run_dir).iterdir())
    assert (run_dir / local.PREDICTIONS_FILE).read_text().count("\n") > 1

    package_dir = run_local.registry / run_local.group / "1"
    package = json.loads((package_dir / registry.PACKAGE_FILE).read_text())
    assert package["ModelApprovalStatus"] == settings.PENDING_APPROVAL
    assert package["RunId"] == run_dir.name
    assert package["ModelPackageArn"].endswith(f":model-package/{run_local.group}/1")
    metadata = package["CustomerMetadataProperties"]
    assert metadata["pipeline-execution"].endswith(f"/execution/{run_dir.name}")
    assert metadata["code-digest"] == code.collect().digest
    # The registered version holds what its request names: the model, its report, its baseline.
    model_files = sorted(path.name for path in local.run_model(run_dir).iterdir())
    assert sorted(path.name for path in (package_dir / "model").iterdir()) == model_files
    baseline = (run_dir / local.RUN_BASELINE).read_bytes()
    assert (package_dir / "baseline.json").read_bytes() == baseline
    report = json.loads((package_dir / settings.REPORT_FILE).read_text())
    assert settings.PRIMARY_METRIC in report[settings.REPORT_KEY]
    # And what the person approving reads: the explanations, the bias, the page drawing them.
    assert (package_dir / "model_card.md").read_text().startswith("# Model card: ")
    assert package["ModelCard"]["ModelCardStatus"] == "PendingReview"
    for name in (settings.BIAS_FILE, settings.EXPLAINABILITY_FILE, settings.EVALUATION_PAGE):
        [written] = run_dir.glob(f"s3/**/evaluate/evaluation/{name}")
        assert (package_dir / name).read_bytes() == written.read_bytes()
    # Its metadata is what SageMaker accepts: the executor refuses what CreateModelPackage would.
    assert metadata[settings.EVALUATION_PAGE_METADATA].endswith(f"/{settings.EVALUATION_PAGE}")
    assert "bias-assessment" in metadata

    output = run_local.printed
    assert "Train | " in output  # each job's output, named by its step
    assert f"{settings.PRIMARY_METRIC} = " in output
    assert str(run_dir / local.PREDICTIONS_FILE) in output
    assert f"registered:  {package_dir} ({settings.PENDING_APPROVAL})" in output
    assert f"report:      {package_dir / settings.EVALUATION_PAGE}" in output
    assert "run-local: bias: " in output


def test_second_run_keeps_the_first_and_takes_the_next_version(registered):
    run_local = registered
    [first_run] = run_local.runs.iterdir()
    first_record = (first_run / "execution.json").read_bytes()
    assert run_local("--parameter", "ModelApprovalStatus=Approved") == 0
    assert len(list(run_local.runs.iterdir())) == 2
    assert (first_run / "execution.json").read_bytes() == first_record
    group_dir = run_local.registry / run_local.group
    assert sorted(path.name for path in group_dir.iterdir()) == ["1", "2"]
    statuses = [
        json.loads((group_dir / version / registry.PACKAGE_FILE).read_text())["ModelApprovalStatus"]
        for version in ("1", "2")
    ]
    assert statuses == [settings.PENDING_APPROVAL, "Approved"]


@pytest.mark.parametrize("step", ["Preprocess", "Train"])
def test_ctrl_c_is_one_line_and_keeps_what_the_run_wrote(
    run_local, monkeypatch, capsys, step, ctrl_c_interrupts
):
    def interrupt_at_the_step(line: str) -> None:
        if line.startswith(f"{step} | "):
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C reaches this process

    monkeypatch.setattr(local, "show", interrupt_at_the_step)
    assert run_local() == 130
    error = capsys.readouterr().err.strip()
    assert error.startswith("run-local: interrupted;") and "\n" not in error
    if step == "Preprocess":  # no step finished: no folder is left behind
        assert not any(run_local.runs.iterdir()) and "wrote nothing" in error
    else:
        [run_dir] = run_local.runs.iterdir()
        assert str(run_dir) in error
        record = execution(run_dir)
        assert record["PipelineExecutionStatus"] == "Stopped"
        assert record["Steps"]["Preprocess"] == "Succeeded"


def test_with_trials_the_best_trial_s_model_is_the_one_registered(run_local, monkeypatch):
    monkeypatch.setenv(settings.TUNING_TRIALS_VARIABLE, "3")
    assert run_local() == 0
    [run_dir] = run_local.runs.iterdir()
    assert execution(run_dir)["Steps"]["Tune"] == "Succeeded"
    assert len(list((run_dir / "jobs" / "Tune").glob("*/"))) == 3
    record = json.loads((run_dir / "execution.json").read_text())
    [properties] = [s["Properties"] for s in record["Steps"] if s["StepName"] == "Tune"]
    best = properties["BestTrainingJob"]
    registered = run_local.registry / run_local.group / "1" / registry.MODEL_DIR
    metadata = json.loads((registered / "model.json").read_text())
    for name, value in best["TunedHyperParameters"].items():  # as the trial read them
        assert metadata["hyperparameters"][name] == pytest.approx(float(value))
    assert local.run_model(run_dir).parent.name == best["TrainingJobName"]


def preprocessed(run_dir: Path, split: str):
    """A run's split, as Preprocess wrote it, from all its instances."""
    from {{ cookiecutter.package_name }}.data.core import read_csv_files

    [folder] = run_dir.glob(f"s3/**/preprocess/{split}")
    return read_csv_files(folder)


def test_several_instances_split_and_train_as_one_does(first_run, run_local, sample_frame):
    from {{ cookiecutter.package_name }}.evaluate.core import primary_metric
    from {{ cookiecutter.package_name }}.infer.handler import model_fn, predict_array
    from {{ cookiecutter.package_name }}.train.core import features_and_target

    folder, _ = first_run
    parts = Path("parts")
    parts.mkdir()
    for number, start in enumerate(range(0, len(sample_frame), 200)):
        sample_frame[start : start + 200].to_csv(parts / f"part-{number}.csv", index=False)
    # XGBoost trains across instances; scikit-learn on one, from the same sharded splits.
    training = 3 if settings.MODEL_FRAMEWORK == "xgboost" else 1
    counts = ["ProcessingInstanceCount=3", f"TrainingInstanceCount={training}"]
    assert run_local("--data", parts, *(f"--parameter={count}" for count in counts)) == 0
    [one] = (folder / "runs").iterdir()
    [several] = run_local.runs.iterdir()
    assert len(list(several.glob("jobs/Preprocess/algo-*/"))) == 3
    assert len(list(several.glob("jobs/Train/algo-*/"))) == (training if training > 1 else 0)
    for split in settings.SPLITS:
        rows = [set(map(tuple, preprocessed(run, split).to_numpy())) for run in (one, several)]
        assert rows[0] == rows[1]
    test = preprocessed(one, "test")
    models = [model_fn(str(local.run_model(run))) for run in (one, several)]
    # The same rows in another order: an estimator that samples rows (a random forest, say)
    # fits another model, of the same quality.
    metrics = [primary_metric(model, test)[1] for model in models]
    assert metrics[1] == pytest.approx(metrics[0], abs=0.02)
    if training > 1:  # each host sketches its own rows' quantiles: close, not equal
        features, _ = features_and_target(test)
        predictions = [predict_array(model, features) for model in models]
        assert abs(predictions[0] - predictions[1]).max() <= 0.05 * abs(predictions[0]).max()


def test_model_below_the_threshold_is_not_registered(run_local, noisy_data, capsys):
    assert run_local("--threshold", "1", "--data", noisy_data) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"run-local: Quality gate failed: {settings.PRIMARY_METRIC} ")
    assert "against the threshold 1.0" in error and error.count("\n") == 1
    assert "the threshold decides alone" in error
    assert not (run_local.registry / run_local.group).exists()
    [run_dir] = run_local.runs.iterdir()
    assert str(run_dir) in error
    assert execution(run_dir)["Steps"]["QualityGateFailed"] == "Failed"
    assert not (run_dir / local.PREDICTIONS_FILE).exists()


@pytest.mark.parametrize("threshold", ["-1", "nan", "1.5", "high"])
def test_threshold_outside_zero_to_one_is_refused(run_local, capsys, threshold):
    with pytest.raises(SystemExit) as exit_info:
        run_local("--threshold", threshold)
    assert exit_info.value.code == 2
    assert "expected a number from 0 to 1" in capsys.readouterr().err
    assert not run_local.runs.exists() and not run_local.registry.exists()


@pytest.mark.parametrize(
    "pair, message",
    [
        ("QualityThreshold=2", "--parameter QualityThreshold: quality threshold '2'"),
        ("Threshold=0.5", "--parameter 'Threshold' is not a parameter"),
        ("TrainingInstanceCount=0", "--parameter TrainingInstanceCount: '0' is not a whole"),
        ("InputDataUri=s3://bucket/data/", "stages --data there; pass --data instead"),
        ("QualityThreshold", "expected Name=Value"),
    ],
)
def test_parameters_are_checked_as_start_checks_them(run_local, capsys, pair, message):
    with pytest.raises(SystemExit) as exit_info:
        run_local("--parameter", pair)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("run-local: error: ") and message in error
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
    assert settings.DEFINITION_CACHE_DIR.is_relative_to(settings.PROJECT_ROOT)


def test_invalid_environment_is_one_clear_line(run_local, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-west-9")
    with pytest.raises(SystemExit) as exit_info:
        run_local()
    assert exit_info.value.code == 2
    assert "run-local: error: AWS region 'eu-west-9'" in capsys.readouterr().err


def test_bad_input_stops_at_preprocess_and_leaves_no_run(run_local, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert run_local("--data", bad) == 2
    error = capsys.readouterr().err
    assert error.startswith("run-local: step Preprocess: the job exited with status 2: ")
    assert "missing column" in error and error.count("\n") == 1
    assert f"{bad}: missing column" in error  # the user's file, not the job's copy of it
    assert not run_local.registry.exists()
    assert list(run_local.runs.iterdir()) == []  # no run folder is left behind


def test_missing_data_is_refused_before_anything(run_local, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_local("--data", tmp_path / "nowhere.csv")
    assert exit_info.value.code == 2
    assert "nowhere.csv: no such file or folder" in capsys.readouterr().err
    assert not run_local.runs.exists()


def test_the_definition_is_built_once_per_code_and_settings(tmp_path, monkeypatch):
    from {{ cookiecutter.package_name }}.pipeline.__main__ import build_offline

    config, bundle = settings.load({**os.environ, "BRANCH_NAME": "main"}), code.collect()
    document = local.built_definition(config, bundle, tmp_path)
    role = config.role_arn(config.dev_account_id, "sagemaker_execution_role")
    assert document == json.loads(build_offline(config, role).definition())
    cached = local.cached_definition(config, bundle, tmp_path)
    assert list(tmp_path.iterdir()) == [cached]
    cached.write_text(json.dumps({**document, "Marker": True}))
    assert local.built_definition(config, bundle, tmp_path)["Marker"]  # reused, not rebuilt
    # Other code, other settings or another role each have a definition of their own.
    changed = code.CodeBundle(((bundle.files[0][0], b"# changed\n"), *bundle.files[1:]))
    other_branch = replace(config, branch="feature/other")
    others = {
        local.cached_definition(config, changed, tmp_path),
        local.cached_definition(other_branch, bundle, tmp_path),
    }
    monkeypatch.setenv(settings.ROLE_ARN_VARIABLE, f"arn:aws:iam::{config.dev_account_id}:role/x")
    others.add(local.cached_definition(config, bundle, tmp_path))
    assert len(others) == 3 and cached not in others


def test_only_the_image_images_toml_records_has_a_local_environment():
    framework, version = settings.FRAMEWORK_IMAGE
    registry_host = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
    repository = local.IMAGE_REPOSITORIES[framework]
    assert local.interpreter_of(f"{registry_host}/{repository}:{version}-cpu-py3") == sys.executable
    assert local.interpreter_of(f"{registry_host}/{repository}:{version}") == sys.executable
    with pytest.raises(LookupError, match=f"images.toml records {framework} {version}"):
        local.interpreter_of(f"{registry_host}/{repository}:0.23-1-cpu-py3")


def test_a_person_approves_or_rejects_a_version_as_in_sagemaker(registered, capsys):
    run_local = registered
    package_file = run_local.registry / run_local.group / "1" / registry.PACKAGE_FILE
    before = json.loads(package_file.read_text())
    arguments = ["--registry-dir", str(run_local.registry)]
    assert registry.main(["approve", "1", "--description", "beats v0", *arguments]) == 0
    approved = json.loads(package_file.read_text())
    assert approved["ModelApprovalStatus"] == "Approved"
    assert approved["ApprovalDescription"] == "beats v0"
    # The model card follows the decision, as the CI's function keeps SageMaker's.
    assert approved["ModelCard"]["ModelCardStatus"] == "Approved"
    changed = ("ModelApprovalStatus", "ModelCard")
    unchanged = {key: value for key, value in before.items() if key not in changed}
    assert {key: approved[key] for key in unchanged} == unchanged
    assert approved["ModelCard"]["ModelCardContent"] == before["ModelCard"]["ModelCardContent"]
    assert f"{run_local.group} version 1 is Approved" in capsys.readouterr().out
    assert registry.main(["reject", "1", *arguments]) == 0
    rejected = json.loads(package_file.read_text())
    assert rejected["ModelApprovalStatus"] == "Rejected"
    assert rejected["ModelCard"]["ModelCardStatus"] == "Archived"
    with pytest.raises(SystemExit) as exit_info:
        registry.main(["approve", "2", *arguments])
    assert exit_info.value.code == 2
    assert f"{run_local.group} has no version 2 (it has 1)" in capsys.readouterr().err


def approve(run_local, version: int) -> Path:
    """Approve a version of the run's registry, as a person would; its folder."""
    assert registry.main(["approve", str(version), "--registry-dir", str(run_local.registry)]) == 0
    return run_local.registry / run_local.group / str(version)


def test_a_challenger_as_good_as_the_champion_is_registered_with_the_comparison(registered):
    run_local = registered
    approve(run_local, 1)
    assert run_local() == 0  # the same data and seed: an equal model, not worse
    package_dir = run_local.registry / run_local.group / "2"
    metadata = json.loads((package_dir / registry.PACKAGE_FILE).read_text())[
        "CustomerMetadataProperties"
    ]
    assert "of champion version 1:" in metadata["champion-comparison"]
    assert metadata["champion-package"].endswith(f":model-package/{run_local.group}/1")
    comparison = json.loads((package_dir / settings.REPORT_FILE).read_text())[
        settings.COMPARISON_KEY
    ]
    assert comparison["champion_version"] == 1 and comparison["not_worse"] is True


def test_on_dev_the_champion_is_the_version_approved_there(run_local, monkeypatch):
    """A dev checkout registers into the -dev group, and its approval sets the local champion."""
    monkeypatch.setenv("BRANCH_NAME", "dev")
    group = settings.load().names["model_package_group"]
    assert group != run_local.group
    assert run_local() == 0
    approve(run_local, 1)
    assert run_local() == 0
    evaluation = json.loads((run_local.registry / group / "2" / settings.REPORT_FILE).read_text())
    assert evaluation[settings.COMPARISON_KEY]["champion_version"] == 1


def test_a_challenger_worse_than_the_champion_is_not_registered(
    registered, sample_frame, noisy_data, capsys
):
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from {{ cookiecutter.package_name }}.infer.handler import Model
    from {{ cookiecutter.package_name }}.train.core import save
    from {{ cookiecutter.package_name }}.train.hyperparameters import Hyperparameters

    run_local = registered
    champion_dir = approve(run_local, 1) / registry.MODEL_DIR
    # The champion reads the target itself: no model trained on the features can match it.
    classifies = settings.PROBLEM_TYPE == "binary_classification"
    tree = DecisionTreeClassifier() if classifies else DecisionTreeRegressor()
    oracle = tree.fit(sample_frame[[TARGET]].to_numpy(dtype=float), sample_frame[TARGET])
    shutil.rmtree(champion_dir)
    save(Model(oracle, settings.PROBLEM_TYPE, features=(TARGET,)), champion_dir, Hyperparameters())
    capsys.readouterr()

    assert run_local("--threshold", "0", "--data", noisy_data) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"run-local: Quality gate failed: {settings.PRIMARY_METRIC} ")
    assert "against 1.0000 of champion version 1" in error and "beyond the tolerance" in error
    assert error.count("\n") == 1
    assert sorted(path.name for path in (run_local.registry / run_local.group).iterdir()) == ["1"]


def test_a_champion_whose_model_is_gone_stops_the_run_and_registers_nothing(registered, capsys):
    run_local = registered
    shutil.rmtree(approve(run_local, 1) / registry.MODEL_DIR)
    capsys.readouterr()
    assert run_local() == 2
    error = capsys.readouterr().err
    assert error.startswith("run-local: step Evaluate: the job exited with status 2: ")
    assert f"champion {run_local.group} version 1: " in error and error.count("\n") == 1
    assert "reject the version" in error
    assert sorted(path.name for path in (run_local.registry / run_local.group).iterdir()) == ["1"]
