import json
import logging

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data import schema
from {{ cookiecutter.package_name }}.data.__main__ import main as preprocess
from {{ cookiecutter.package_name }}.data.core import (
    DataValidationError,
    read_csv_files,
    read_manifest,
    sampled,
    split,
    validated_chunks,
)


def test_sample_data_meets_the_schema(sample_frame):
    assert list(sample_frame.columns) == [*schema.FEATURES, schema.TARGET]
    assert len(sample_frame) > 100
    assert set(sample_frame.dtypes.astype(str)) == {"float64"}


def write(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "input.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_column_is_named(tmp_path, sample_frame):
    path = write(tmp_path, sample_frame.drop(columns=[schema.FEATURES[1]]))
    with pytest.raises(DataValidationError, match=f"missing column.*{schema.FEATURES[1]}"):
        read_csv_files(path)


def test_spaces_around_header_names_are_named_with_the_fix(tmp_path, sample_frame):
    padded = f"  {schema.FEATURES[1]}"
    path = write(tmp_path, sample_frame.rename(columns={schema.FEATURES[1]: padded}))
    with pytest.raises(DataValidationError, match=f"spaces around them \\('{padded}'\\); remove"):
        read_csv_files(path)


def test_a_folder_s_csv_files_are_read_whatever_the_case_of_their_suffix(tmp_path, sample_frame):
    sample_frame.iloc[:60].to_csv(tmp_path / "export.CSV", index=False)
    sample_frame.iloc[60:].to_csv(tmp_path / "rest.csv", index=False)
    (tmp_path / "notes.txt").write_text("not data")
    assert len(read_csv_files(tmp_path)) == len(sample_frame)


def test_non_numeric_value_is_named_with_its_line(tmp_path, sample_frame):
    frame = sample_frame.astype(object)
    frame.loc[3, schema.FEATURES[0]] = "not-a-number"
    path = write(tmp_path, frame)
    with pytest.raises(DataValidationError, match=r"'not-a-number' on line 5"):
        read_csv_files(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataValidationError, match="empty"):
        read_csv_files(path)


def test_header_without_rows_is_refused(tmp_path, sample_frame):
    path = write(tmp_path, sample_frame.head(0))
    with pytest.raises(DataValidationError, match="no rows"):
        read_csv_files(path)


def test_missing_target_is_refused(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame.loc[0, schema.TARGET] = None
    with pytest.raises(DataValidationError, match="line 2"):
        read_csv_files(write(tmp_path, frame))
{%- if cookiecutter.problem_type == "binary_classification" %}


def test_target_outside_the_classes_is_refused(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame.loc[0, schema.TARGET] = 2
    with pytest.raises(DataValidationError, match="expected one of"):
        read_csv_files(write(tmp_path, frame))
{%- endif %}


def test_single_outcome_is_refused(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame[schema.TARGET] = frame[schema.TARGET].iloc[0]
    with pytest.raises(DataValidationError, match="single value"):
        read_csv_files(write(tmp_path, frame))


def test_too_few_rows_to_split_are_refused(sample_frame):
    with pytest.raises(DataValidationError, match="too few to split"):
        split(sample_frame.head(10))
{%- if cookiecutter.problem_type == "binary_classification" %}


def test_too_rare_class_to_stratify_is_refused(sample_frame):
    by_class = sample_frame.groupby(schema.TARGET)
    frame = pd.concat([by_class.get_group(1.0).head(60), by_class.get_group(0.0).head(3)])
    with pytest.raises(DataValidationError, match=r"class 0\.0 of 'target' has 3 row\(s\)"):
        split(frame)


def test_target_outside_the_classes_is_shown_as_written(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame.loc[0, schema.TARGET] = 2
    with pytest.raises(DataValidationError) as error:
        read_csv_files(write(tmp_path, frame))
    assert "has 2.0 on line 2" in str(error.value) and "np." not in str(error.value)
{%- endif %}


def test_excel_utf8_with_byte_order_mark_is_read(tmp_path, sample_frame):
    path = tmp_path / "excel.csv"
    sample_frame.to_csv(path, index=False, encoding="utf-8-sig")
    assert read_csv_files(path).columns[0] == schema.FEATURES[0]


def test_non_utf8_file_is_refused(tmp_path, sample_frame):
    path = tmp_path / "latin1.csv"
    path.write_bytes(sample_frame.head(3).to_csv(index=False).encode() + b"caf\xe9\n")
    with pytest.raises(DataValidationError, match="not UTF-8"):
        read_csv_files(path)


def test_row_with_extra_fields_is_refused(tmp_path, sample_frame):
    path = write(tmp_path, sample_frame.head(5))
    path.write_text(path.read_text() + "1,2,3," * len(schema.FEATURES) + "\n")
    with pytest.raises(DataValidationError, match="not a valid CSV"):
        read_csv_files(path)


def test_lines_are_the_files_own_with_blank_lines(tmp_path, sample_frame):
    text = sample_frame.head(8).astype(object).to_csv(index=False).splitlines()
    text[5] = text[5].replace(text[5].split(",")[0], "abc", 1)  # physical line 6
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join([text[0], "", *text[1:4], "", *text[4:]]) + "\n")
    with pytest.raises(DataValidationError, match="'abc' on line 8"):  # two blank lines above
        read_csv_files(path)


def test_missing_feature_values_are_kept(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame.loc[0, schema.FEATURES[0]] = None
    assert read_csv_files(write(tmp_path, frame))[schema.FEATURES[0]].isna().sum() == 1


def test_directory_of_files_is_read_as_one(tmp_path, sample_frame):
    sample_frame.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    sample_frame.iloc[50:].to_csv(tmp_path / "b.csv", index=False)
    assert len(read_csv_files(tmp_path)) == len(sample_frame)


def test_each_file_is_checked_on_its_own(tmp_path, sample_frame):
    """A file lacking a feature is refused even when another file has it (no silent merge)."""
    sample_frame.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    other = sample_frame.iloc[50:].drop(columns=[schema.FEATURES[2]]).assign(notes="x")
    other.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataValidationError, match=f"b.csv: missing column.*{schema.FEATURES[2]}"):
        read_csv_files(tmp_path)


def test_lines_are_counted_within_each_file(tmp_path, sample_frame):
    sample_frame.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    second = sample_frame.iloc[50:].reset_index(drop=True)
    second.loc[2, schema.TARGET] = None
    second.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataValidationError, match=r"b\.csv: column 'target' is empty on line 4"):
        read_csv_files(tmp_path)


def test_extra_column_is_dropped_with_a_warning(tmp_path, sample_frame, caplog):
    path = write(tmp_path, sample_frame.assign(customer_notes="vip"))
    with caplog.at_level(logging.WARNING):
        frame = read_csv_files(path)
    assert "customer_notes" not in frame.columns
    assert f"{path}: ignoring column(s) customer_notes" in caplog.text


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999"])
def test_infinite_value_is_refused_with_its_column_and_line(tmp_path, sample_frame, value):
    frame = sample_frame.astype(object)
    frame.loc[1, schema.FEATURES[3]] = value
    with pytest.raises(DataValidationError, match=f"'{schema.FEATURES[3]}' has .* on line 3"):
        read_csv_files(write(tmp_path, frame))


@pytest.mark.parametrize("separator", ["\t", ";"])
def test_other_separators_are_named(tmp_path, sample_frame, separator):
    path = tmp_path / "export.csv"
    sample_frame.to_csv(path, index=False, sep=separator)
    with pytest.raises(DataValidationError, match=r"single column .* is it comma-separated"):
        read_csv_files(path)


def rows(frame: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, frame.to_numpy()))


def test_duplicates_are_dropped_before_splitting(sample_frame):
    doubled = pd.concat([sample_frame, sample_frame], ignore_index=True)
    parts = split(doubled)
    assert sum(len(part) for part in parts.values()) == len(sample_frame)
    assert not rows(parts["train"]) & rows(parts["test"])


def test_a_row_s_split_depends_on_the_row_alone(sample_frame):
    whole = {name: rows(part) for name, part in split(sample_frame).items()}
    shuffled = sample_frame.sample(frac=1, random_state=1)
    in_pieces = [split(piece) for piece in (shuffled[:300], shuffled[300:])]
    for name in settings.SPLITS:
        assert set.union(*(rows(parts[name]) for parts in in_pieces)) == whole[name]


def test_the_split_keeps_near_its_fractions(sample_frame):
    sizes = {name: len(part) / len(sample_frame) for name, part in split(sample_frame).items()}
    assert sizes["train"] == pytest.approx(0.70, abs=0.06)
    assert sizes["test"] == pytest.approx(0.15, abs=0.05)


def test_files_are_read_a_chunk_at_a_time_with_their_own_lines(tmp_path, sample_frame):
    path = write(tmp_path, sample_frame)
    chunks = list(validated_chunks(path, rows=100))
    assert max(len(chunk) for chunk in chunks) == 100 and len(chunks) > 1
    assert pd.concat(chunks, ignore_index=True).equals(read_csv_files(path))
    frame = sample_frame.astype(object)
    frame.loc[frame.index[250], schema.FEATURES[2]] = "abc"  # in the third chunk
    with pytest.raises(DataValidationError, match="'abc' on line 252"):
        list(validated_chunks(write(tmp_path, frame), rows=100))


def test_a_feature_empty_in_one_chunk_only_is_kept(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame.loc[frame.index[:100], schema.FEATURES[0]] = float("nan")
    assert sum(len(chunk) for chunk in validated_chunks(write(tmp_path, frame), rows=100)) == len(
        frame
    )


def test_a_sample_is_bounded_uniform_in_order_and_the_same_however_read(
    tmp_path, sample_frame, monkeypatch
):
    path = write(tmp_path, sample_frame)
    whole, rows = sampled(path, len(sample_frame))
    assert rows == len(sample_frame) and whole.equals(read_csv_files(path))
    sample, rows = sampled(path, 100)
    assert rows == len(sample_frame) and len(sample) == 100
    positions = [whole.index[whole.eq(row).all(axis=1)][0] for _, row in sample.iterrows()]
    assert positions == sorted(positions)  # rows of the file, in its order
    assert positions[-1] - positions[0] > len(sample_frame) // 2  # from all of it, not its head
    monkeypatch.setattr(f"{split.__module__}.CHUNK_ROWS", 30)
    assert sampled(path, 100)[0].equals(sample)


def preprocess_as_instances(tmp_path, inputs, count: int):
    """Preprocess as a job of `count` instances: each gets every count-th file, as sharded."""
    output = tmp_path / f"out-{count}"
    hosts = [f"algo-{number}" for number in range(1, count + 1)]
    for rank, host in enumerate(hosts):
        shard = tmp_path / f"shard-{count}-{host}"
        shard.mkdir()
        for file in sorted(inputs.iterdir())[rank::count]:
            (shard / file.name).write_bytes(file.read_bytes())
        config = tmp_path / f"opt-ml-{count}-{host}" / "config" / "resourceconfig.json"
        config.parent.mkdir(parents=True)
        config.write_text(json.dumps({"hosts": hosts, "current_host": host}))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(f"{preprocess.__module__}.PROCESSING_CONFIG", config)
            assert preprocess(["--input", str(shard), "--output-dir", str(output)]) == 0
    return output


def test_instances_sharing_the_files_write_the_splits_of_one(tmp_path, sample_frame):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for number, piece in enumerate((sample_frame[:200], sample_frame[200:400], sample_frame[400:])):
        piece.to_csv(inputs / f"part-{number}.csv", index=False)
    alone, shared = (preprocess_as_instances(tmp_path, inputs, count) for count in (1, 3))
    assert sorted(path.name for path in (shared / "train").iterdir()) == [
        f"train-algo-{number}.csv" for number in (1, 2, 3)
    ]
    for name in settings.SPLITS:
        assert rows(read_csv_files(shared / name)) == rows(read_csv_files(alone / name))
    manifests = [read_manifest(output / settings.DATA_MANIFEST_DIR) for output in (alone, shared)]
    assert manifests[0] == manifests[1]


def test_an_instance_without_a_file_does_nothing(tmp_path, sample_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "only.csv").write_bytes(sample_path.read_bytes())
    output = preprocess_as_instances(tmp_path, inputs, 2)
    assert "algo-2 got no input file" in capsys.readouterr().out
    assert [path.name for path in (output / "test").iterdir()] == ["test-algo-1.csv"]


def test_entry_point_drops_duplicates_across_files_and_says_so(tmp_path, sample_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a.csv", "b.csv"):
        (inputs / name).write_bytes(sample_path.read_bytes())
    assert preprocess(["--input", str(inputs), "--output-dir", str(tmp_path / "out")]) == 0
    rows = len(read_csv_files(sample_path))
    assert f"dropped {rows} exact duplicate row(s)" in capsys.readouterr().out
    train = read_csv_files(tmp_path / "out" / "train")
    test = read_csv_files(tmp_path / "out" / "test")
    assert train.merge(test, how="inner").empty
{%- if cookiecutter.problem_type == "regression" %}


def test_nearly_constant_target_is_refused_before_training(sample_frame):
    frame = sample_frame.copy()
    frame[schema.TARGET] = 100.0
    frame.loc[:1, schema.TARGET] = [0.0, 1.0]  # two rows vary: at least one set gets neither
    with pytest.raises(DataValidationError, match="nearly constant"):
        split(frame)
{%- endif %}


def test_split_is_disjoint_complete_and_reproducible(sample_frame):
    parts = split(sample_frame, seed=7)
    indexes = [set(part.index) for part in parts.values()]
    assert sum(len(index) for index in indexes) == len(sample_frame)
    assert set.union(*indexes) == set(sample_frame.index)
    assert all(a.isdisjoint(b) for a in indexes for b in indexes if a is not b)
    assert split(sample_frame, seed=7)["test"].index.equals(parts["test"].index)
    assert not split(sample_frame, seed=8)["test"].index.equals(parts["test"].index)


def test_entry_point_writes_one_folder_per_split(tmp_path, sample_path):
    assert preprocess(["--input", str(sample_path), "--output-dir", str(tmp_path)]) == 0
    for name in ("train", "validation", "test"):
        assert len(read_csv_files(tmp_path / name / f"{name}.csv")) > 0


def test_split_problem_names_the_input(tmp_path, sample_frame, capsys):
    path = write(tmp_path, sample_frame.head(10))
    with pytest.raises(SystemExit) as exit_info:
        preprocess(["--input", str(path), "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(f"preprocess: error: {path}: ")


def test_entry_point_reports_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        preprocess(["--input", str(tmp_path / "empty.csv"), "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


def test_feature_without_any_value_is_named(tmp_path, sample_frame):
    frame = sample_frame.assign(**{schema.FEATURES[0]: float("nan")})
    message = f"input.csv: column '{schema.FEATURES[0]}' has no value at all"
    with pytest.raises(DataValidationError, match=message):
        read_csv_files(write(tmp_path, frame))


def test_feature_without_any_value_in_a_split_is_named(sample_frame):
    # Values in two rows cannot reach all three sets, whatever the split.
    frame = sample_frame.assign(**{schema.FEATURES[0]: float("nan")})
    frame.loc[frame.index[:2], schema.FEATURES[0]] = 1.0
    message = f"set: column '{schema.FEATURES[0]}' has no value at all"
    with pytest.raises(DataValidationError, match=message):
        split(frame)


@pytest.mark.parametrize("column", [schema.FEATURES[0], schema.TARGET])
def test_value_that_would_overflow_is_named_with_its_line(tmp_path, sample_frame, column):
    frame = sample_frame.copy()
    frame.loc[3, column] = 1e308
    with pytest.raises(DataValidationError, match=f"column '{column}' has 1e\\+308 on line 5"):
        read_csv_files(write(tmp_path, frame))


def test_categorical_feature_outside_the_features_is_named():
    with pytest.raises(ValueError, match="'mean_radiuss', not in FEATURES"):
        schema.check_declarations(("mean_radius",), ("mean_radiuss",), {})


@pytest.mark.parametrize(
    ("sensitive", "problem"),
    [
        ({"agee": (40,)}, "SENSITIVE_FEATURES names 'agee', not in FEATURES"),
        ({"age": ()}, "gives 'age' no bin edges, but it is not categorical"),
        ({"age": (60, 40)}, r"gives 'age' the bin edges \(60, 40\); give them rising"),
        ({"age": (40, 40)}, "give them rising, each once"),
    ],
)
def test_sensitive_feature_declarations_are_checked(sensitive, problem):
    with pytest.raises(ValueError, match=problem):
        schema.check_declarations(("age", "sex"), ("sex",), sensitive)


def test_sensitive_features_may_be_categorical_or_binned():
    schema.check_declarations(("age", "sex"), ("sex",), {"sex": (), "age": (40, 60)})
