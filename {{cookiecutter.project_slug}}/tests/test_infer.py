import csv
import io
import json
import os
import shutil
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
from {{ cookiecutter.package_name }}.infer import batch as batch_module
from {{ cookiecutter.package_name }}.infer.__main__ import main as predict
from {{ cookiecutter.package_name }}.infer.handler import (
    InvalidModelError,
    InvalidRequestError,
    InvalidRowError,
)
from {{ cookiecutter.package_name }}.pipeline.executor import pack


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


def one_line_message(error: Exception) -> str:
    message = str(error)
    assert "\n" not in message
    return message


def request_body(rows, content_type: str) -> str:
    """A request of rows whose values are written out as they would appear in the body."""
    if content_type == "text/csv":
        return "\n".join(",".join(row) for row in rows)
    return '{"instances": [' + ", ".join(f"[{', '.join(row)}]" for row in rows) + "]}"


@pytest.fixture(scope="module")
def good_values(rows) -> list[str]:
    return [repr(value) for value in rows.iloc[0].tolist()]


def test_a_single_instance_sent_alone_is_one_row(model, rows):
    expected = predict_fn(rows.head(1).to_numpy().tolist(), model)
    in_order = json.dumps(rows.iloc[0].tolist())
    by_name = json.dumps(rows.iloc[0].to_dict())
    for body in (in_order, by_name):
        assert predict_fn(input_fn(body, "application/json"), model) == expected


@pytest.mark.parametrize(
    ("content_type", "value", "problem"),
    [
        ("text/csv", "abc", '"abc" is not a number'),
        ("text/csv", "true", '"true" is not a number'),
        ("text/csv", "inf", '"inf" is not finite'),
        ("text/csv", "-Infinity", '"-Infinity" is not finite'),
        ("text/csv", "1e999", '"1e999" is not finite'),
        ("application/json", '"abc"', '"abc" is not a number'),
        ("application/json", "true", "true is not a number"),
        ("application/json", "false", "false is not a number"),
        ("application/json", '{"value": 1}', '{"value": 1} is not a number'),
        ("application/json", "[1, 2]", "[1, 2] is not a number"),
        ("application/json", '"-inf"', '"-inf" is not finite'),
        ("application/json", "1e999", "Infinity is not finite"),
        ("application/json", "-Infinity", "-Infinity is not finite"),
        ("application/json", "1" + "0" * 400, "1" + "0" * 36 + "... is not finite"),
    ],
)
def test_a_value_that_is_not_a_finite_number_names_row_and_feature(
    model, good_values, content_type, value, problem
):
    bad_values = [*good_values]
    bad_values[1] = value
    body = request_body([good_values, bad_values], content_type)
    with pytest.raises(InvalidRowError) as error:
        predict_fn(input_fn(body, content_type), model)
    message = one_line_message(error.value)
    assert message.startswith(f"row 2, feature {schema.FEATURES[1]!r}: {problem}")
    assert message.endswith("send a finite number, or leave it blank if the value is missing")


def test_numbers_sent_as_json_text_are_accepted(model, rows):
    as_text = json.dumps([[str(value) for value in rows.iloc[0].tolist()]])
    expected = predict_fn(rows.head(1).to_numpy().tolist(), model)
    assert predict_fn(input_fn(as_text, "application/json"), model) == expected


@pytest.mark.parametrize(
    ("content_type", "missing"),
    [
        ("text/csv", ""),
        ("text/csv", "nan"),
        ("application/json", "null"),
        ("application/json", "NaN"),
    ],
)
def test_blank_null_and_nan_are_missing_values(model, good_values, content_type, missing):
    values = [missing, *good_values[1:]]
    assert predict_fn(input_fn(request_body([values], content_type), content_type), model)


@pytest.mark.parametrize(
    ("content_type", "missing"),
    [("text/csv", ""), ("text/csv", "nan"), ("application/json", "null")],
)
def test_a_row_with_every_value_missing_is_refused(model, good_values, content_type, missing):
    body = request_body([good_values, [missing] * len(schema.FEATURES)], content_type)
    with pytest.raises(InvalidRowError, match=r"^row 2: every value is blank or missing"):
        predict_fn(input_fn(body, content_type), model)


def test_an_instance_that_is_neither_a_list_nor_an_object_is_refused(model, rows):
    with pytest.raises(InvalidRowError, match=r"^row 1: 17 is not an instance"):
        predict_fn(input_fn('{"instances": [17]}', "application/json"), model)
    mixed = json.dumps([rows.iloc[0].tolist(), 5])  # a batch with a stray value, not one row
    with pytest.raises(InvalidRowError, match=r"^row 2: 5 is not an instance"):
        predict_fn(input_fn(mixed, "application/json"), model)


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"\xff\xfe1,2", "text/csv", "request body is not UTF-8 text"),
        ("x" * 200_000, "text/csv", "request body is not valid CSV"),
        ("[" * 100_000, "application/json", "request body nests JSON too deeply"),
    ],
)
def test_an_unreadable_body_is_refused(body, content_type, problem):
    with pytest.raises(InvalidRequestError, match=problem) as error:
        input_fn(body, content_type)
    one_line_message(error.value)


def damaged_copy(model_dir: Path, tmp_path: Path, file_name: str) -> Path:
    """A copy of the model bundle with one file's bytes replaced by garbage."""
    bundle = tmp_path / "damaged-model"
    shutil.copytree(model_dir, bundle)
    (bundle / file_name).write_bytes(b"\x80\x04garbage")
    return bundle


@pytest.mark.parametrize("file_name", ["model.joblib", "model.json"])
def test_a_damaged_model_file_is_named_with_the_fix(tmp_path, model_dir, file_name):
    bundle = damaged_copy(model_dir, tmp_path, file_name)
    with pytest.raises(InvalidModelError) as error:
        model_fn(str(bundle))
    assert one_line_message(error.value).startswith(f"{bundle / file_name}: cannot load the model")
    assert "retrain the model, or copy the whole model bundle again" in str(error.value)


def test_a_bundle_of_another_framework_names_the_framework_it_needs(tmp_path, model_dir):
    bundle = tmp_path / "other-framework-model"
    shutil.copytree(model_dir, bundle)
    metadata = json.loads((bundle / "model.json").read_text())
    (bundle / "model.json").write_text(json.dumps({**metadata, "framework": "lightgbm"}))
    # A pickle of a class from a module this environment does not have, as another
    # framework's estimator is where only this project's framework is installed.
    (bundle / "model.joblib").write_bytes(b"\x80\x04cnot_installed_framework\nBooster\n.")
    with pytest.raises(InvalidModelError) as error:
        model_fn(str(bundle))
    message = one_line_message(error.value)
    needs = "the model needs lightgbm (its model.json says), which is not installed here"
    assert message.startswith(f"{bundle / 'model.joblib'}: {needs}")


def test_batch_command_hints_at_spaces_around_header_names(tmp_path, model_dir, splits, capsys):
    rows = splits["test"].rename(columns={schema.FEATURES[0]: f" {schema.FEATURES[0]}"})
    assert run_batch(tmp_path, model_dir, rows.to_csv(index=False)) == 2
    assert f"spaces around them (' {schema.FEATURES[0]}')" in one_line_error(capsys)


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


def scored_lines(tmp_path, model_dir, text: str) -> list[str]:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(text)
    args = ["--model-dir", model_dir, "--input", source, "--output", target]
    assert predict([str(arg) for arg in args]) == 0
    return target.read_text().splitlines()


def test_batch_keeps_every_line_as_written_in_order_with_its_predictions(
    tmp_path, model, model_dir, splits
):
    ids = [f"{number:07d}" for number in range(len(splits["test"]))]
    test = splits["test"].astype(str).assign(customer_id=ids)
    lines = test.to_csv(index=False).splitlines()
    scored = scored_lines(tmp_path, model_dir, "\n".join(lines) + "\n")
    assert len(scored) == len(lines)
    expected = predict_fn(test.to_dict("records"), model)
    assert scored[0] == ",".join([lines[0], *expected[0]])
    for line, output, prediction in zip(lines[1:], scored[1:], expected, strict=True):
        values = output.removeprefix(line + ",").split(",")
        assert output.startswith(line + ",")  # "0000042" stays "0000042", 1.50 stays 1.50
        assert [float(value) for value in values] == pytest.approx(list(prediction.values()))


def test_batch_reads_a_quoted_file_as_the_same_rows(tmp_path, model_dir, splits):
    plain = splits["test"].to_csv(index=False)
    quoted = splits["test"].to_csv(index=False, quoting=csv.QUOTE_ALL)
    plain_lines, quoted_lines = (scored_lines(tmp_path, model_dir, t) for t in (plain, quoted))
    assert len(plain_lines) == len(quoted_lines) == len(splits["test"]) + 1
    for plain_line, quoted_line in zip(plain_lines[1:], quoted_lines[1:], strict=True):
        assert float(plain_line.split(",")[-1]) == float(quoted_line.split(",")[-1])


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
def test_batch_scores_a_file_a_chunk_at_a_time_as_in_one(
    tmp_path, model_dir, splits, monkeypatch, quoting
):
    text = splits["test"].to_csv(index=False, quoting=quoting)
    whole = scored_lines(tmp_path, model_dir, text)
    monkeypatch.setattr(batch_module, "BATCH_ROWS", 7)
    assert scored_lines(tmp_path, model_dir, text) == whole


def test_a_bad_value_in_a_later_chunk_names_its_line_and_keeps_the_earlier_output(
    tmp_path, model_dir, splits, monkeypatch, capsys
):
    (tmp_path / "out.csv").write_text("an earlier output\n")
    monkeypatch.setattr(batch_module, "BATCH_ROWS", 7)
    test = splits["test"].astype(object)
    test.iloc[20, test.columns.get_loc(schema.FEATURES[1])] = "abc"  # line 22, third chunk
    source = tmp_path / "in.csv"
    source.write_text(test.to_csv(index=False))
    args = ["--model-dir", model_dir, "--input", source, "--output", tmp_path / "out.csv"]
    with pytest.raises(SystemExit):
        predict([str(arg) for arg in args])
    assert f"line 22, column {schema.FEATURES[1]!r}" in one_line_error(capsys)
    assert (tmp_path / "out.csv").read_text() == "an earlier output\n"
    assert not list(tmp_path.glob(".*.partial"))


def test_batch_reads_blank_and_nan_as_missing_values(tmp_path, model_dir, splits):
    test = splits["test"].astype(object)
    test.iloc[0, test.columns.get_loc(schema.FEATURES[0])] = ""
    test.iloc[1, test.columns.get_loc(schema.FEATURES[0])] = "nan"
    assert len(scored_lines(tmp_path, model_dir, test.to_csv(index=False))) == len(test) + 1


@pytest.mark.parametrize("line", ["", ",".join(["1"] * 30)])
def test_batch_refuses_a_line_of_another_width_naming_it(
    tmp_path, model_dir, splits, capsys, monkeypatch, line
):
    monkeypatch.setattr(batch_module, "BATCH_ROWS", 7)  # the line is in a later chunk
    rows = splits["test"].to_csv(index=False).splitlines()
    text = "\n".join([*rows, line, rows[-1]]) + "\n"  # the odd line is not the last
    assert run_batch(tmp_path, model_dir, text) == 2
    assert f"line {len(rows) + 1} has " in one_line_error(capsys)


def test_a_short_line_and_a_long_one_do_not_make_up_for_each_other():
    lines = io.StringIO("1,2,3\n1,2\n1,2,3,4\n")  # as many commas as three lines of 3 fields
    with pytest.raises(InvalidRequestError, match=r"^line 3 has 2 fields but the header has 3$"):
        list(batch_module.line_chunks(lines, fields=3))


def test_batch_refuses_a_header_without_rows(tmp_path, model_dir, splits, capsys):
    assert run_batch(tmp_path, model_dir, ",".join(splits["test"].columns) + "\n") == 2
    assert "a header but no rows" in one_line_error(capsys)


def run_batch(tmp_path, model_dir, text: str, encoding: str = "utf-8") -> int:
    source = tmp_path / "in.csv"
    source.write_text(text, encoding=encoding)
    args = ["--model-dir", model_dir, "--input", source, "--output", tmp_path / "out.csv"]
    with pytest.raises(SystemExit) as exit_info:
        predict([str(arg) for arg in args])
    assert not (tmp_path / "out.csv").exists()
    return exit_info.value.code


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("predict: error: ") and err.count("\n") == 1 and err.endswith("\n")
    return err


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
    assert f"already has column(s) {output_column}; rename them" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc", f'line 4, column {schema.FEATURES[1]!r}: "abc" is not a number'),
        ("-inf", f'line 4, column {schema.FEATURES[1]!r}: "-inf" is not finite'),
        # What pandas would read as missing, true or infinite is refused, as at the endpoint.
        ("NA", f'line 4, column {schema.FEATURES[1]!r}: "NA" is not a number'),
        ("True", f'line 4, column {schema.FEATURES[1]!r}: "True" is not a number'),
        ("1e999", f'line 4, column {schema.FEATURES[1]!r}: "1e999" is not finite'),
    ],
)
def test_batch_command_names_the_line_and_column_of_a_bad_value(
    tmp_path, model_dir, splits, capsys, value, problem
):
    test = splits["test"].astype(object)
    test.iloc[2, test.columns.get_loc(schema.FEATURES[1])] = value
    assert run_batch(tmp_path, model_dir, test.to_csv(index=False)) == 2
    assert f"{tmp_path / 'in.csv'}: {problem}" in one_line_error(capsys)


def test_batch_command_names_the_line_of_a_row_without_values(tmp_path, model_dir, splits, capsys):
    test = splits["test"].astype(object)
    test.loc[test.index[2], list(schema.FEATURES)] = ""
    assert run_batch(tmp_path, model_dir, test.to_csv(index=False)) == 2
    assert "in.csv: line 4: every value is blank or missing" in one_line_error(capsys)


def test_batch_command_names_a_missing_feature_column(tmp_path, model_dir, splits, capsys):
    text = splits["test"].drop(columns=schema.FEATURES[-1]).to_csv(index=False)
    assert run_batch(tmp_path, model_dir, text) == 2
    assert f"in.csv: missing column(s) {schema.FEATURES[-1]}" in one_line_error(capsys)


def test_batch_command_refuses_a_file_that_is_not_utf8(tmp_path, model_dir, splits, capsys):
    text = splits["test"].to_csv(index=False) + "café\n"
    assert run_batch(tmp_path, model_dir, text, encoding="latin-1") == 2
    err = one_line_error(capsys)
    assert f"{tmp_path / 'in.csv'}: not UTF-8 text; save it as UTF-8 CSV" in err


def test_batch_command_refuses_a_line_that_is_not_csv(tmp_path, model_dir, splits, capsys):
    text = splits["test"].to_csv(index=False) + '"' + "x" * 200_000 + '"\n'
    assert run_batch(tmp_path, model_dir, text) == 2
    assert f"line {len(splits['test']) + 2} is not valid CSV" in one_line_error(capsys)


def test_batch_command_names_a_damaged_model_file(tmp_path, model_dir, splits, capsys):
    bundle = damaged_copy(model_dir, tmp_path, "model.joblib")
    assert run_batch(tmp_path, bundle, splits["test"].to_csv(index=False)) == 2
    assert f"{bundle / 'model.joblib'}: cannot load the model" in one_line_error(capsys)


def test_batch_command_without_a_model_says_so(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("a\n1\n")
    args = ["--model-dir", tmp_path / "no-model", "--input", source, "--output", tmp_path / "o.csv"]
    with pytest.raises(SystemExit) as exit_info:
        predict([str(arg) for arg in args])
    assert exit_info.value.code == 2
    assert "no model bundle" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


@pytest.fixture
def batch(tmp_path, splits):
    """A batch folder as files land in S3: two CSV files (one in a subfolder, with an id column
    the model does not use) and a marker file."""
    folder = tmp_path / "batch"
    (folder / "region-b").mkdir(parents=True)
    test = splits["test"]
    test.head(30).to_csv(folder / "part-1.csv", index=False)
    ids = [f"c{number:05d}" for number in range(len(test) - 30)]
    test.iloc[30:].assign(customer_id=ids).to_csv(folder / "region-b" / "part-2.csv", index=False)
    (folder / "_SUCCESS").write_text("")
    return folder


def score_batch_command(model_dir, source, output_dir, *extra) -> int:
    args = ["--model-dir", model_dir, "--input", source, "--output-dir", output_dir, *extra]
    return predict([str(arg) for arg in args])


def test_a_batch_folder_is_scored_file_by_file_with_its_manifest(
    tmp_path, model, model_dir, batch, splits
):
    output = tmp_path / "scored"
    recorded = ["--model-package-arn", "arn:aws:sagemaker:r:1:model-package/g/3"]
    recorded += ["--model-package-version", "3", "--code-digest", "abc123"]
    recorded += ["--input-uri", "s3://bucket/input/2026-12-01/"]
    assert score_batch_command(model_dir, batch, output, *recorded) == 0
    files = sorted(path.relative_to(output).as_posix() for path in output.rglob("*.*"))
    assert files == ["manifest.json", "part-1.csv", "region-b/part-2.csv"]
    for name in ("part-1.csv", "region-b/part-2.csv"):
        lines = (batch / name).read_text().splitlines()
        scored = (output / name).read_text().splitlines()
        assert len(scored) == len(lines)  # one output row per input row, in order
        expected = predict_fn(list(csv.DictReader(lines)), model)
        assert scored[0] == ",".join([lines[0], *expected[0]])
        for line, output_line in zip(lines[1:], scored[1:], strict=True):
            assert output_line.startswith(line + ",")
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["model_package_arn"] == recorded[1]
    assert manifest["model_package_version"] == 3 and manifest["code_digest"] == "abc123"
    assert manifest["input"] == "s3://bucket/input/2026-12-01/"
    rows = {"part-1.csv": 30, "region-b/part-2.csv": len(splits["test"]) - 30}
    assert {item["file"]: (item["rows_in"], item["rows_out"]) for item in manifest["files"]} == {
        name: (count, count) for name, count in rows.items()
    }
    assert manifest["rows_in"] == manifest["rows_out"] == len(splits["test"])


def test_a_bad_line_in_a_batch_names_the_file_and_leaves_no_output(
    tmp_path, model_dir, batch, capsys
):
    late = batch / "region-b" / "part-2.csv"  # scored after part-1.csv, which was written
    lines = late.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "abc", 1)
    late.write_text("\n".join(lines) + "\n")
    output = tmp_path / "scored"
    arguments = ("--input-uri", "s3://bucket/input/2026-12-01/")
    with pytest.raises(SystemExit) as exit_info:
        score_batch_command(model_dir, batch, output, *arguments)
    assert exit_info.value.code == 2
    error = one_line_error(capsys)
    assert "s3://bucket/input/2026-12-01/region-b/part-2.csv: line 6, column " in error
    assert not [path for path in output.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("arrange", "problem"),
    [
        (lambda batch: (batch / "notes.txt").write_text("x"), "notes.txt is not a CSV file"),
        (lambda batch: shutil.rmtree(batch) or batch.mkdir(), "holds no CSV file"),
    ],
)
def test_a_batch_of_anything_but_csv_files_is_refused(
    tmp_path, model_dir, batch, capsys, arrange, problem
):
    arrange(batch)
    with pytest.raises(SystemExit) as exit_info:
        score_batch_command(model_dir, batch, tmp_path / "scored")
    assert exit_info.value.code == 2
    assert f"{batch}: {problem}" in one_line_error(capsys)


def test_a_batch_never_overwrites_an_earlier_output(tmp_path, model_dir, batch, capsys):
    output = tmp_path / "scored"
    assert score_batch_command(model_dir, batch, output) == 0
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}
    with pytest.raises(SystemExit) as exit_info:
        score_batch_command(model_dir, batch, output)
    assert exit_info.value.code == 2
    assert "already holds files; score into an empty folder" in one_line_error(capsys)
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before


def test_a_batch_reads_the_model_as_a_job_receives_it(tmp_path, model_dir, batch):
    archive_dir = tmp_path / "model"  # SageMaker's model.tar.gz, as a processing input
    pack(model_dir, archive_dir / "model.tar.gz")
    assert score_batch_command(archive_dir, batch, tmp_path / "from-archive") == 0
    assert score_batch_command(model_dir, batch, tmp_path / "from-folder") == 0
    for name in ("part-1.csv", "region-b/part-2.csv"):
        scored = (tmp_path / "from-archive" / name).read_bytes()
        assert scored == (tmp_path / "from-folder" / name).read_bytes()


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
