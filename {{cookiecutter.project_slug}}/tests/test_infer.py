import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.data import schema
from {{ cookiecutter.package_name }}.infer import (
    UnsupportedContentTypeError,
    input_fn,
    model_fn,
    output_fn,
    predict_fn,
)
from {{ cookiecutter.package_name }}.infer.__main__ import main as predict
from {{ cookiecutter.package_name }}.infer.handler import InvalidRequestError


@pytest.fixture(scope="module")
def model(model_dir):
    return model_fn(str(model_dir))


@pytest.fixture(scope="module")
def rows(splits):
    return splits["test"][list(schema.FEATURES)].head(5)


def invoke(model, body, content_type, accept):
    """The response body, checking that it is labelled with the type asked for."""
    response, response_type = output_fn(predict_fn(input_fn(body, content_type), model), accept)
    assert response_type == accept.split(";")[0]
    return response


def test_csv_round_trip(model, rows):
    body = rows.to_csv(header=False, index=False)
    lines = invoke(model, body, "text/csv", "text/csv").splitlines()
    assert len(lines) == len(rows)
{%- if cookiecutter.problem_type == "binary_classification" %}
    for line in lines:
        label, probability = line.split(",")
        assert label in {"0", "1"}
        assert 0.0 <= float(probability) <= 1.0
        assert label == str(int(float(probability) >= 0.5))
{%- else %}
    assert all(float(line) > 0 for line in lines)
{%- endif %}


def test_json_instances_as_objects_and_lists_agree_with_csv(model, rows):
    by_name = json.dumps({"instances": rows.to_dict(orient="records")})
    by_order = json.dumps({"instances": rows.to_numpy().tolist()})
    from_csv = predict_fn(input_fn(rows.to_csv(header=False, index=False), "text/csv"), model)
    for body in (by_name, by_order):
        response = json.loads(invoke(model, body.encode(), "application/json", "application/json"))
        assert response["predictions"] == from_csv


def test_content_type_parameters_are_accepted(model, rows):
    body = rows.to_csv(header=False, index=False)
    assert invoke(model, body, "text/csv; charset=utf-8", "application/json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-npy", ""])
def test_unsupported_content_type_is_refused(content_type):
    with pytest.raises(UnsupportedContentTypeError, match="text/csv, application/json"):
        input_fn("1,2", content_type)


def test_unsupported_accept_is_refused(model, rows):
    predictions = predict_fn(rows.to_numpy().tolist(), model)
    with pytest.raises(UnsupportedContentTypeError, match="text/html"):
        output_fn(predictions, "text/html")


def test_wrong_number_of_values_names_the_expected_features(model):
    with pytest.raises(InvalidRequestError, match=f"expects {len(schema.FEATURES)}"):
        predict_fn(input_fn("1.0,2.0", "text/csv"), model)


def test_missing_feature_in_an_object_is_named(model, rows):
    instance = rows.to_dict(orient="records")[0]
    del instance[schema.FEATURES[-1]]
    with pytest.raises(InvalidRequestError, match=schema.FEATURES[-1]):
        predict_fn(input_fn(json.dumps([instance]), "application/json"), model)


def test_non_numeric_value_is_refused(model):
    body = ",".join(["abc"] * len(schema.FEATURES))
    with pytest.raises(InvalidRequestError, match="numbers"):
        predict_fn(input_fn(body, "text/csv"), model)


def test_batch_command_writes_predictions_beside_the_rows(tmp_path, model_dir, splits):
    source, target = tmp_path / "in.csv", tmp_path / "out" / "predictions.csv"
    splits["test"].to_csv(source, index=False)
    args = ["--model-dir", model_dir, "--input", source, "--output", target]
    assert predict([str(arg) for arg in args]) == 0
    with target.open() as file:
        records = list(csv.DictReader(file))
    assert len(records) == len(splits["test"])
    prediction_columns = set(predict_fn(records[:1], model_fn(str(model_dir)))[0])
    assert set(records[0]) == {*splits["test"].columns, *prediction_columns}


def run_batch(tmp_path, model_dir, text: str) -> int:
    source = tmp_path / "in.csv"
    source.write_text(text)
    args = ["--model-dir", model_dir, "--input", source, "--output", tmp_path / "out.csv"]
    with pytest.raises(SystemExit) as exit_info:
        predict([str(arg) for arg in args])
    assert not (tmp_path / "out.csv").exists()
    return exit_info.value.code


def test_batch_command_refuses_a_short_row(tmp_path, model_dir, splits, capsys):
    text = splits["test"].to_csv(index=False) + "1,2,3\n"
    assert run_batch(tmp_path, model_dir, text) == 2
    assert "fields but the header has" in capsys.readouterr().err


def test_batch_command_never_overwrites_an_input_column(tmp_path, model, model_dir, splits, capsys):
    test = splits["test"].copy()
    first_row = test[list(schema.FEATURES)].head(1).to_numpy().tolist()
    [output_column, *_] = predict_fn(first_row, model)[0]
    test[output_column] = 1
    assert run_batch(tmp_path, model_dir, test.to_csv(index=False)) == 2
    assert f"already has column(s) {output_column}" in capsys.readouterr().err


def test_batch_command_without_a_model_says_so(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("a\n1\n")
    args = ["--model-dir", tmp_path / "no-model", "--input", source, "--output", tmp_path / "o.csv"]
    with pytest.raises(SystemExit) as exit_info:
        predict([str(arg) for arg in args])
    assert exit_info.value.code == 2
    assert "no model bundle" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_importing_the_handler_loads_no_heavy_library():
    # Serving containers import the handler on start-up: heavy libraries wait for the model.
    code = (
        "import sys, {{ cookiecutter.package_name }}.infer; "
        "print(sorted({'numpy', 'pandas', 'sklearn', 'joblib'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "[]"
