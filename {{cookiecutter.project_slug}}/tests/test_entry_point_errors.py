"""Entry points refuse bad paths with one line naming the path and the fix, before any work."""

import importlib
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infer.__main__ import main as predict

PACKAGE = "{{ cookiecutter.package_name }}"


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


FOLDER_OPTIONS = [
    ("data", ["--input", "{sample}"], "--output-dir"),
    ("train", ["--train", "{sample}", "--validation", "{sample}"], "--model-dir"),
    ("evaluate", ["--model-dir", "{model}", "--test-dir", "{sample}"], "--output-dir"),
    ("monitor", ["baseline", "--train-dir", "{sample}", "--model-dir", "{model}"], "--output-dir"),
    ("monitor", ["check", "--capture", "{sample}"], "--output-dir"),
    ("pipeline.local", [], "--runs-dir"),
    ("pipeline.local", ["--runs-dir", "{runs}"], "--registry-dir"),
]
# A path below a file cannot be made anywhere; /proc refuses new entries even to root, whom
# permission bits do not stop.
UNWRITABLE = ["{file}/output", *(["/proc/x"] if sys.platform == "linux" else [])]


def refusal(main, argv: list[str], paths: dict[str, Path], capsys) -> str:
    """The one error line of a command line that must stop while parsing its options."""
    with pytest.raises(SystemExit) as exit_info:
        main([argument.format(**paths) for argument in argv])
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.fixture
def paths(tmp_path, sample_path, model_dir) -> dict[str, Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    return {
        "sample": sample_path,
        "model": model_dir,
        "file": a_file,
        "folder": tmp_path,
        "runs": tmp_path / "runs",
    }


@pytest.mark.parametrize("output", ["{file}", *UNWRITABLE])
@pytest.mark.parametrize(("module", "argv", "option"), FOLDER_OPTIONS)
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(
    module, argv, option, output, paths, capsys
):
    entry_point = module if "." in module else f"{module}.__main__"
    main = importlib.import_module(f"{PACKAGE}.{entry_point}").main
    error = refusal(main, [*argv, option, output], paths, capsys)
    assert f"error: argument {option}: " in error and output.format(**paths) in error
    assert not paths["runs"].exists(), "the local run began before its options were checked"


@pytest.mark.parametrize("output", ["{folder}", *UNWRITABLE])
def test_predict_refuses_an_output_file_it_cannot_write_before_scoring(output, paths, capsys):
    argv = ["--model-dir", "{model}", "--input", "{sample}", "--output", output]
    error = refusal(predict, argv, paths, capsys)
    assert "error: argument --output: " in error and output.format(**paths) in error
