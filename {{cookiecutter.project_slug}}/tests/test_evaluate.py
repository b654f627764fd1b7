import json
import shutil
import tarfile

import numpy as np
import pytest
from sklearn import metrics

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.evaluate.__main__ import main as evaluate_entry
from {{ cookiecutter.package_name }}.evaluate.core import evaluate, metric_values
from {{ cookiecutter.package_name }}.infer.handler import model_fn, predict_array
from {{ cookiecutter.package_name }}.train.core import features_and_target


@pytest.fixture(autouse=True)
def empty_local_registry(tmp_path, monkeypatch):
    """The entry point finds no champion (test_champion.py covers finding one)."""
    monkeypatch.setenv(settings.LOCAL_REGISTRY_VARIABLE, str(tmp_path / "registry"))


def test_report_has_the_sagemaker_model_quality_shape(model_dir, splits):
    report = evaluate(model_fn(str(model_dir)), splits["test"])
    assert list(report) == [settings.REPORT_KEY, settings.COMPARISON_KEY]
    scalar_metrics = {
        name: entry
        for name, entry in report[settings.REPORT_KEY].items()
        if name != "confusion_matrix"
    }
    assert scalar_metrics
    for entry in scalar_metrics.values():
        assert set(entry) == {"value", "standard_deviation"}
        assert np.isfinite(entry["value"])
        assert entry["standard_deviation"] >= 0  # 0 for a metric at its best on every resample
    assert any(entry["standard_deviation"] > 0 for entry in scalar_metrics.values())
    json.dumps(report, allow_nan=False)
{%- if cookiecutter.problem_type == "binary_classification" %}
    matrix = report[settings.REPORT_KEY]["confusion_matrix"]
    assert sum(sum(row.values()) for row in matrix.values()) == len(splits["test"])


def test_metrics_agree_with_sklearn(model_dir, splits):
    features, truth = features_and_target(splits["test"])
    probability = predict_array(model_fn(str(model_dir)), features)
    label = (probability >= 0.5).astype(int)
    assert metric_values(truth, probability) == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(truth, label),
            "precision": metrics.precision_score(truth, label),
            "recall": metrics.recall_score(truth, label),
            "f1": metrics.f1_score(truth, label),
            "auc": metrics.roc_auc_score(truth, probability),
        }
    )


def test_perfect_predictions_score_perfectly():
    truth = np.array([0, 1, 1, 0, 1])
    values = metric_values(truth, truth.astype(float))
    assert values == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "auc": 1.0}


def test_inverted_predictions_score_zero_auc():
    truth = np.array([0, 1, 1, 0, 1])
    assert metric_values(truth, 1.0 - truth)["auc"] == 0.0
{%- else %}


def test_metrics_agree_with_sklearn(model_dir, splits):
    features, truth = features_and_target(splits["test"])
    prediction = predict_array(model_fn(str(model_dir)), features)
    assert metric_values(truth, prediction) == pytest.approx(
        {
            "mse": metrics.mean_squared_error(truth, prediction),
            "rmse": metrics.root_mean_squared_error(truth, prediction),
            "mae": metrics.mean_absolute_error(truth, prediction),
            "r2": metrics.r2_score(truth, prediction),
        }
    )


def test_perfect_predictions_score_perfectly():
    truth = np.array([1.0, 2.0, 4.0, 8.0])
    assert metric_values(truth, truth) == {"mse": 0.0, "rmse": 0.0, "mae": 0.0, "r2": 1.0}


def test_constant_truth_has_no_r2_instead_of_an_error():
    truth = np.full(5, 3.0)
    assert np.isnan(metric_values(truth, truth + 1.0)["r2"])


def test_constant_error_shows_in_every_metric():
    truth = np.array([1.0, 2.0, 4.0, 8.0])
    values = metric_values(truth, truth + 2.0)
    assert values["mae"] == 2.0
    assert values["mse"] == 4.0
    assert values["rmse"] == 2.0
{%- endif %}


def test_entry_point_reads_a_sagemaker_model_archive(tmp_path, model_dir, splits):
    archive_dir, test_dir = tmp_path / "model", tmp_path / "test"
    archive_dir.mkdir()
    test_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        for path in model_dir.iterdir():
            tar.add(path, arcname=path.name)
    splits["test"].to_csv(test_dir / "test.csv", index=False)
    args = ["--model-dir", archive_dir, "--test-dir", test_dir, "--output-dir", tmp_path / "out"]
    assert evaluate_entry([str(arg) for arg in args]) == 0
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert report == evaluate(model_fn(str(model_dir)), splits["test"])


def test_a_large_test_split_is_evaluated_on_a_uniform_sample(
    tmp_path, model_dir, splits, monkeypatch
):
    monkeypatch.setattr(settings, "SAMPLED_ROWS", 40)
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    splits["test"].to_csv(test_dir / "test.csv", index=False)
    args = ["--model-dir", model_dir, "--test-dir", test_dir, "--output-dir", tmp_path / "out"]
    assert evaluate_entry([str(arg) for arg in args]) == 0
    page = (tmp_path / "out" / settings.EVALUATION_PAGE).read_text()
    total = len(splits["test"])
    assert f"on 40 test rows, a uniform sample of the {total} of the split" in page
    report = json.loads((tmp_path / "out" / settings.REPORT_FILE).read_text())
{%- if cookiecutter.problem_type == "binary_classification" %}
    matrix = report[settings.REPORT_KEY]["confusion_matrix"]
    assert sum(sum(row.values()) for row in matrix.values()) == 40
{%- else %}
    assert report != evaluate(model_fn(str(model_dir)), splits["test"])
{%- endif %}


def run_entry_point(tmp_path, model_dir, splits) -> int:
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    splits["test"].to_csv(test_dir / "test.csv", index=False)
    args = ["--model-dir", model_dir, "--test-dir", test_dir, "--output-dir", tmp_path / "out"]
    with pytest.raises(SystemExit) as exit_info:
        evaluate_entry([str(arg) for arg in args])
    assert not (tmp_path / "out").exists()
    return exit_info.value.code


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("evaluate: error: ") and err.count("\n") == 1 and err.endswith("\n")
    return err


def test_entry_point_names_a_missing_model_once(tmp_path, splits, capsys):
    assert run_entry_point(tmp_path, tmp_path / "no-model", splits) == 2
    err = one_line_error(capsys)
    assert err.count(str(tmp_path / "no-model")) == 1
    assert "no model bundle" in err


@pytest.mark.parametrize("file_name", ["model.joblib", "model.json"])
def test_entry_point_names_a_damaged_model_file(tmp_path, model_dir, splits, capsys, file_name):
    bundle = tmp_path / "model"
    shutil.copytree(model_dir, bundle)
    (bundle / file_name).write_bytes(b"\x80\x04garbage")
    assert run_entry_point(tmp_path, bundle, splits) == 2
    assert f"{bundle / file_name}: cannot load the model" in one_line_error(capsys)


def test_entry_point_names_a_damaged_file_inside_the_archive(tmp_path, model_dir, splits, capsys):
    archive_dir = tmp_path / "model"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        tar.add(model_dir / "model.json", arcname="model.json")
        garbage = tmp_path / "garbage"
        garbage.write_bytes(b"\x80\x04garbage")
        tar.add(garbage, arcname="model.joblib")
    assert run_entry_point(tmp_path, archive_dir, splits) == 2
    err = one_line_error(capsys)
    assert f"{archive_dir / 'model.tar.gz' / 'model.joblib'}: cannot load the model" in err


def test_entry_point_names_an_archive_that_is_not_one(tmp_path, splits, capsys):
    archive_dir = tmp_path / "model"
    archive_dir.mkdir()
    (archive_dir / "model.tar.gz").write_bytes(b"not an archive")
    assert run_entry_point(tmp_path, archive_dir, splits) == 2
    assert f"{archive_dir / 'model.tar.gz'}: not a readable model archive" in one_line_error(capsys)
