"""Every option of the AWS command lines is checked when parsed: before the first AWS call."""

import importlib

import boto3
import pytest
from conftest import require_sdk

from {{ cookiecutter.package_name }} import settings

PACKAGE = "{{ cookiecutter.package_name }}"


@pytest.fixture
def no_aws_calls(monkeypatch):
    """Any boto3 session fails the test: the option must be refused before one is made."""

    def refuse(*args, **kwargs):
        pytest.fail("an AWS session was made before the options were checked")

    monkeypatch.setattr(boto3, "Session", refuse)


def command_line(module: str):
    if module == "pipeline":
        require_sdk()
    return importlib.import_module(f"{PACKAGE}.{module}.__main__").main


@pytest.mark.parametrize(
    ("module", "argv", "option"),
    [
        ("deploy", ["integration-test", "--rows", "0"], "--rows"),
        ("deploy", ["integration-test", "--rows", "-5"], "--rows"),
        ("deploy", ["integration-test", "--rows", "many"], "--rows"),
        ("deploy", ["integration-test", "--p95-seconds", "-1"], "--p95-seconds"),
        ("deploy", ["integration-test", "--p95-seconds", "nan"], "--p95-seconds"),
        ("deploy", ["integration-test", "--data", "{missing}"], "--data"),
        ("deploy", ["integration-test", "--data", "{folder}"], "--data"),
        ("deploy", ["integration-test", "--junit", "{folder}"], "--junit"),
        ("deploy", ["integration-test", "--junit", "{file}/integration.xml"], "--junit"),
        ("deploy", ["prepare", "--output-dir", "{file}"], "--output-dir"),
        ("deploy", ["prepare", "--output-dir", "{file}/prepared"], "--output-dir"),
        ("pipeline", ["start", "--poll", "0"], "--poll"),
        ("pipeline", ["start", "--timeout", "-1"], "--timeout"),
        ("pipeline", ["definition", "--output", "{folder}"], "--output"),
        ("pipeline", ["diagram", "--output", "{file}/diagram.md"], "--output"),
        ("pipeline", ["diagram", "--readme", "{missing}"], "--readme"),
    ],
)
def test_a_bad_option_is_one_line_before_any_aws_call(
    no_aws_credentials, no_aws_calls, tmp_path, capsys, module, argv, option
):
    main = command_line(module)
    existing_file = tmp_path / "a-file"
    existing_file.write_text("")
    paths = {"missing": tmp_path / "missing.csv", "folder": tmp_path, "file": existing_file}
    with pytest.raises(SystemExit) as exit_:
        main([argument.format(**paths) for argument in argv])
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1, errors
    assert f"error: argument {option}: " in errors[0]


def test_a_bad_latency_bound_in_the_environment_names_the_option(
    no_aws_credentials, no_aws_calls, monkeypatch, capsys
):
    monkeypatch.setenv(settings.INTEGRATION_P95_VARIABLE, "-1")
    with pytest.raises(SystemExit) as exit_:
        command_line("deploy")(["integration-test"])
    assert exit_.value.code == 2
    assert "error: argument --p95-seconds: " in capsys.readouterr().err


def test_defaults_pass_the_checks_before_their_output_folders_exist(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    parser = importlib.import_module(f"{PACKAGE}.deploy.__main__").argument_parser()
    test = parser.parse_args(["integration-test"])
    assert (test.data, test.junit.parent.exists()) == (settings.SAMPLE_DATA, False)
    assert test.rows >= 1 and test.p95_seconds > 0
    assert not parser.parse_args(["prepare"]).output_dir.exists()


def test_pipeline_output_goes_into_folders_it_makes(monkeypatch, tmp_path):
    main = command_line("pipeline")
    monkeypatch.setattr(
        f"{PACKAGE}.pipeline.__main__.build_offline",
        lambda *_: type("Pipeline", (), {"definition": staticmethod(lambda: '{"Steps": []}')}),
    )
    output = tmp_path / "new" / "pipeline.json"
    assert main(["definition", "--output", str(output)]) == 0
    assert output.is_file()
