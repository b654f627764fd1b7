"""`make setup` in a generated project: a wrong interpreter gets one line, changed extras install again."""

import os
import subprocess
from pathlib import Path

import harness

FIX = "make setup PYTHON=/path/to/python3.12"
# pyenv resolves `pyenv install -s 3.12` to the newest 3.12 release and downloads it, even where
# a 3.12 is installed; `pyenv local 3.12` alone takes the installed one.
PYENV_HINT = "pyenv local 3.12,"
# What pyenv's shim does when pyenv has the version but it is not the active one.
PYENV_SHIM = """#!/bin/sh
echo "pyenv: python3.12: command not found" >&2
echo >&2
echo "The \\`python3.12' command exists in these Python versions:" >&2
echo "  3.12.1" >&2
exit 127
"""


def make_setup(
    project: Path, *variables: str, path_dirs: tuple[Path, ...] = (), dry_run: bool = False
) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHON", "EXTRAS")}
    env["PATH"] = os.pathsep.join([*map(str, path_dirs), env["PATH"]])
    env["PIP_NO_INDEX"] = "1"  # should a bad interpreter get through, pip fails at once instead of downloading
    command = ["make", *(["--dry-run"] if dry_run else []), "setup", *variables]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, env=env)


def assert_refused_in_one_line(result: subprocess.CompletedProcess, project: Path, problem: str) -> None:
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, result.stdout + result.stderr
    assert error_lines[0].startswith(f"error: {problem}; ") and FIX in error_lines[0], error_lines[0]
    assert PYENV_HINT in error_lines[0] and "pyenv install -s" not in error_lines[0], error_lines[0]
    assert "Error 127" not in result.stdout + result.stderr
    assert not (project / ".venv").exists()


def test_pyenv_shim_of_an_inactive_version_is_refused(tmp_path):
    project = harness.render(tmp_path)
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3.12").write_text(PYENV_SHIM)
    (shims / "python3.12").chmod(0o755)
    result = make_setup(project, path_dirs=(shims,))
    assert_refused_in_one_line(result, project, "PYTHON=python3.12 does not run")


def test_interpreter_of_another_version_is_refused(tmp_path):
    python = tmp_path / "python3.11"  # answers as Python 3.11 would, so no 3.11 need be installed
    python.write_text("#!/bin/sh\necho 'is Python 3.11'\n")
    python.chmod(0o755)
    project = harness.render(tmp_path / "out")
    result = make_setup(project, f"PYTHON={python}")
    assert_refused_in_one_line(result, project, f"PYTHON={python} is Python 3.11")


def test_missing_interpreter_is_refused(tmp_path):
    project = harness.render(tmp_path)
    missing = tmp_path / "nowhere" / "python3.12"
    assert_refused_in_one_line(make_setup(project, f"PYTHON={missing}"), project, f"PYTHON={missing} not found")


def installs(result: subprocess.CompletedProcess) -> str | None:
    """The extras `make --dry-run setup` would install, or None if it would install nothing."""
    assert result.returncode == 0, result.stdout + result.stderr
    pip_lines = [line for line in result.stdout.splitlines() if "pip install --quiet -e" in line]
    return pip_lines[0].split('".[')[1].rstrip(']"') if pip_lines else None


def test_extras_given_to_make_install_again_when_they_differ(tmp_path):
    project = harness.render(tmp_path)
    (project / ".venv").mkdir()
    (project / ".venv" / ".installed").write_text("dev\n")  # what `make setup EXTRAS=dev` leaves
    assert installs(make_setup(project, dry_run=True)) is None  # every target uses the lint-only .venv
    assert installs(make_setup(project, "EXTRAS=dev", dry_run=True)) is None
    assert installs(make_setup(project, "EXTRAS=dev,pipeline", dry_run=True)) == "dev,pipeline"
    (project / ".venv" / ".installed").unlink()
    assert installs(make_setup(project, dry_run=True)) == "dev,pipeline"


def test_the_python_version_file_of_the_pyenv_hint_is_ignored(tmp_path):
    project = harness.render(tmp_path)
    (project / ".python-version").write_text("3.12\n")
    subprocess.run(["git", "init", "--quiet"], cwd=project, check=True)
    ignored = subprocess.run(["git", "check-ignore", "--quiet", ".python-version"], cwd=project)
    assert ignored.returncode == 0, "template-update refuses a dirty tree: .python-version must be ignored"
