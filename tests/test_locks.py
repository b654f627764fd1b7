"""The locks the template ships: current, lossless through a render, what the harness runs, and
kept to the image record, which is kept to settings."""

import re
import subprocess

import pytest

import harness


@pytest.mark.parametrize("framework", harness.CHOICES["model_framework"])
def test_each_shipped_lock_is_current(render, framework):
    project = render(project_name="Fraud Score", model_framework=framework)
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert harness.templated_lock(lock, "fraud-score") == harness.shipped_lock(framework).read_text(encoding="utf-8")
    python = harness.find_python(harness.DEFAULT_PYTHON)
    command = [harness.UV, "lock", "--check", "--offline", "--python", python]
    check = subprocess.run(command, cwd=project, capture_output=True, text=True, env=harness.uv_environment())
    assert check.returncode == 0, f"{check.stderr.strip()}; run make lock"


@pytest.mark.parametrize("framework", harness.CHOICES["model_framework"])
def test_the_harness_runs_what_the_lock_holds(project_python, framework):
    env_dir = project_python(framework).parent.parent
    command = [harness.UV, "sync", "--locked", "--check", "--offline", "--all-extras", "--no-install-project"]
    environment = harness.uv_environment(UV_PROJECT_ENVIRONMENT=str(env_dir))
    project = harness.locked_project(framework)
    check = subprocess.run(command, cwd=project, capture_output=True, text=True, env=environment)
    assert check.returncode == 0, check.stderr


def test_a_record_that_disagrees_with_settings_fails(render, project_python):
    project = render()
    record = project / "images.toml"
    record.write_text(record.read_text().replace('version = "1.9-0"', 'version = "1.8-0"'))
    command = [str(project_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_images.py"]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert result.returncode == 1
    assert "1 failed" in result.stdout and "images.toml records image ('sklearn', '1.8-0')" in result.stdout


def test_one_uv_version_everywhere(render):
    """The template's environment, the harness, make setup's bootstrap, the project's dev extra
    and its builds all run the same uv: a lock one writes, the others read."""
    [template_version] = re.findall(r'"uv==([\d.]+)"', (harness.TEMPLATE_DIR / "pyproject.toml").read_text())
    assert f"UV_VERSION := {template_version}\n" in (harness.TEMPLATE_DIR / "Makefile").read_text()
    project = render()
    assert f"UV_VERSION := {template_version}\n" in (project / "Makefile").read_text()
    assert f'"uv=={template_version}"' in (project / "pyproject.toml").read_text()
    for buildspec in (project / "buildspecs").glob("*.yml"):
        assert f"pip install --quiet uv=={template_version}\n" in buildspec.read_text(), buildspec.name
    version = subprocess.run([harness.UV, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith(f"uv {template_version} ")
