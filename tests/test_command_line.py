"""The `cookiecutter` command renders the template however its path is given, as the README says."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import harness

COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")  # the harness venv's command
# (working directory, template argument): relative, `./`-relative, `.` from inside, absolute
TEMPLATE_PATHS = {
    "relative": (harness.TEMPLATE_DIR.parent, harness.TEMPLATE_DIR.name),
    "dot-slash-relative": (harness.TEMPLATE_DIR.parent, f"./{harness.TEMPLATE_DIR.name}"),
    "dot-inside-template": (harness.TEMPLATE_DIR, "."),
    "absolute": (Path("/"), str(harness.TEMPLATE_DIR)),
}


def run_cookiecutter(tmp_path: Path, cwd: Path, template: str, *answers: str) -> subprocess.CompletedProcess:
    """Run the command line with --no-input into tmp_path/out; replay files stay in tmp_path."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cookiecutters'}\n")
    command = [str(COOKIECUTTER), template, "--no-input", "--config-file", str(config), "-o", str(tmp_path / "out")]
    return subprocess.run([*command, "_init_git=no", *answers], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize(("cwd", "template"), TEMPLATE_PATHS.values(), ids=TEMPLATE_PATHS.keys())
def test_command_line_renders_from_any_template_path(tmp_path, cwd, template):
    result = run_cookiecutter(tmp_path, cwd, template)
    assert result.returncode == 0, result.stderr[-3000:]
    project = tmp_path / "out" / "customer-churn"
    assert (project / "src" / "customer_churn" / "settings.py").exists()
    assert tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"] == "customer-churn"


@pytest.mark.parametrize("path_kind", ["relative", "absolute"])
def test_command_line_refuses_a_bad_answer_in_one_line(tmp_path, path_kind):
    (tmp_path / "out").mkdir()
    result = run_cookiecutter(tmp_path, *TEMPLATE_PATHS[path_kind], "aws_region=mars-1")
    assert result.returncode != 0
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert problem_lines[0].startswith("error: aws_region 'mars-1': not an AWS region code"), result.stderr[-3000:]
    assert problem_lines[-1].endswith("nothing was generated")
    assert list((tmp_path / "out").iterdir()) == []
