"""Entry points refuse bad paths with one line naming the path and the fix."""

import pytest

from {{ cookiecutter.package_name }}.infer.__main__ import main as predict


def test_predict_refuses_a_folder_as_input_in_one_line(tmp_path, model_dir, capsys):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "rows.csv").write_text("a\n1\n")
    output = tmp_path / "predictions.csv"

    with pytest.raises(SystemExit) as exit_info:
        predict(["--model-dir", str(model_dir), "--input", str(folder), "--output", str(output)])

    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert error.startswith(f"predict: error: {folder}: is a folder; pass one CSV file")
    assert error.count("\n") == 1
    assert not output.exists()
