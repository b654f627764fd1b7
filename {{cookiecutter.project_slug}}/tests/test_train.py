import json

import pytest

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.evaluate.core import primary_metric
from {{ cookiecutter.package_name }}.infer.handler import model_fn
from {{ cookiecutter.package_name }}.train.__main__ import argument_parser, job_hyperparameters
from {{ cookiecutter.package_name }}.train.__main__ import main as train
from {{ cookiecutter.package_name }}.train.core import fit
from {{ cookiecutter.package_name }}.train.hyperparameters import (
    SEARCH_SPACE,
    Hyperparameters,
    is_integer,
)


def test_fitted_model_beats_the_quality_threshold(splits, hyperparameters):
    model = fit(splits["train"], hyperparameters)
    name, value = primary_metric(model, splits["validation"])
    assert name == settings.PRIMARY_METRIC
    assert value >= settings.QUALITY_THRESHOLD


def test_same_seed_gives_the_same_model(splits):
    features = splits["test"]
    first = fit(splits["train"], Hyperparameters(n_estimators=20, seed=3))
    second = fit(splits["train"], Hyperparameters(n_estimators=20, seed=3))
    assert primary_metric(first, features) == primary_metric(second, features)


def write_channels(tmp_path, splits):
    for name in ("train", "validation"):
        (tmp_path / name).mkdir()
        splits[name].to_csv(tmp_path / name / f"{name}.csv", index=False)


def test_hyperparameters_are_accepted_in_either_spelling(tmp_path, splits):
    write_channels(tmp_path, splits)
    channels = ["--train", tmp_path / "train", "--validation", tmp_path / "validation"]
    args = [*channels, "--model-dir", tmp_path / "model", "--n_estimators", "9", "--max-depth", "2"]
    assert train([str(arg) for arg in args]) == 0
    metadata = json.loads((tmp_path / "model" / "model.json").read_text())
    assert metadata["hyperparameters"]["n_estimators"] == 9


@pytest.mark.parametrize("option", [["--n-estimators", "0"], ["--learning-rate", "-1"]])
def test_invalid_hyperparameters_are_refused_in_one_line(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as exit_info:
        train(["--model-dir", str(tmp_path / "model"), *option])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("train: error:")
    assert not (tmp_path / "model").exists()


def test_entry_point_follows_the_sagemaker_contract(tmp_path, splits, monkeypatch, capsys):
    write_channels(tmp_path, splits)
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(tmp_path / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    # SageMaker passes hyperparameters as command-line options.
    assert train(["--n-estimators", "7", "--max-depth", "2", "--learning-rate", "0.2"]) == 0
    metadata = json.loads((tmp_path / "model" / "model.json").read_text())
    assert metadata["hyperparameters"] == {
        "n_estimators": 7,
        "learning_rate": 0.2,
        "max_depth": 2,
        "seed": 0,
    }
    assert f"validation:{settings.PRIMARY_METRIC}=" in capsys.readouterr().out
    assert model_fn(str(tmp_path / "model")).problem_type == settings.PROBLEM_TYPE


def test_job_hyperparameters_file_sets_the_defaults(tmp_path):
    """A training job without a framework toolkit gets hyperparameters.json, all strings."""
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({"n_estimators": "11", "learning_rate": "0.3"}))
    args = argument_parser(job_hyperparameters(path)).parse_args(["--max-depth", "4"])
    assert (args.n_estimators, args.learning_rate, args.max_depth) == (11, 0.3, 4)
    assert (
        argument_parser(job_hyperparameters(path)).parse_args(["--n-estimators", "5"]).n_estimators
        == 5
    )
    assert job_hyperparameters(tmp_path / "absent.json") == {}


def test_unknown_job_hyperparameters_are_refused():
    with pytest.raises(SystemExit, match="unknown hyperparameters \\['n_trees'\\]"):
        argument_parser({"n_trees": "5", "sagemaker_program": "ignored"})


def test_help_lists_each_option_once_with_its_default():
    text = argument_parser({}).format_help()
    assert text.count("--seed") == 2  # the usage line and the option, not a duplicate spelling
    assert "--n-estimators" in text and "--n_estimators" in text
    assert f"(default: {Hyperparameters().n_estimators})" in text


@pytest.mark.parametrize("end", ["low", "high"])
def test_every_value_tuning_may_draw_is_one_training_accepts(end):
    drawn = {name: getattr(span, end) for name, span in SEARCH_SPACE.items()}
    Hyperparameters(**{name: int(v) if is_integer(name) else v for name, v in drawn.items()})
    assert all(span.low < span.high for span in SEARCH_SPACE.values())
