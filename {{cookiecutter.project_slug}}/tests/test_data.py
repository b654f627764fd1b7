import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data import schema
from {{ cookiecutter.package_name }}.data.__main__ import main as preprocess
from {{ cookiecutter.package_name }}.data.core import DataValidationError, read_csv_files, split


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
    frame = pd.concat([by_class.get_group(1.0).head(60), by_class.get_group(0.0).head(1)])
    with pytest.raises(DataValidationError, match="cannot split"):
        split(frame)
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


def test_missing_feature_values_are_kept(tmp_path, sample_frame):
    frame = sample_frame.copy()
    frame.loc[0, schema.FEATURES[0]] = None
    assert read_csv_files(write(tmp_path, frame))[schema.FEATURES[0]].isna().sum() == 1


def test_directory_of_files_is_read_as_one(tmp_path, sample_frame):
    sample_frame.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    sample_frame.iloc[50:].to_csv(tmp_path / "b.csv", index=False)
    assert len(read_csv_files(tmp_path)) == len(sample_frame)


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


def test_entry_point_reports_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        preprocess(["--input", str(tmp_path / "empty.csv"), "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()
