"""scripts/template.py: the template check reports and never fails; updates refuse in one line.

The update itself (cruft against a template repository) is proven by the template's harness.
"""

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT_ROOT / "scripts" / "template.py"
SPEC = importlib.util.spec_from_file_location("template_script", SCRIPT)
template = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(template)

CRUFT_STATE = {
    "template": "/nowhere/sagemaker-ml-template",
    "commit": "0" * 40,
    "context": {"cookiecutter": {"_template_version": settings.TEMPLATE_VERSION}},
}


def git(project: Path, *arguments: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    command = ["git", *identity, "-c", "commit.gpgsign=false", *arguments]
    subprocess.run(command, cwd=project, check=True, capture_output=True)


def linked_project(path: Path, *, commit_state: bool = True, branch: str = "feature/x") -> Path:
    """A git repository on `branch` with a README and, committed or not, a .cruft.json."""
    git(path, "init", "--quiet", f"--initial-branch={branch}")
    (path / "README.md").write_text("# A project\n")
    (path / template.CRUFT_FILE).write_text(json.dumps(CRUFT_STATE))
    git(path, "add", "README.md", *([template.CRUFT_FILE] if commit_state else []))
    git(path, "commit", "--quiet", "-m", "Generate the project")
    return path


def test_the_readme_names_the_template_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", settings.TEMPLATE_VERSION)
    readme = (PROJECT_ROOT / "README.md").read_text()
    [version] = re.findall(r"came from version (\S+) of the SageMaker ML solution template", readme)
    assert version == settings.TEMPLATE_VERSION


def test_check_reports_a_project_without_its_template_and_succeeds(tmp_path, capsys):
    assert template.main(["check", "--project", str(tmp_path)]) == 0
    line = capsys.readouterr().out
    link = f"cruft link <template-git-url> --checkout v{settings.TEMPLATE_VERSION}, then commit"
    assert f"not linked to its template (no .cruft.json); link it: {link}" in line


def test_check_reports_a_template_out_of_reach_and_succeeds(tmp_path, capsys):
    project = linked_project(tmp_path)
    assert template.main(["check", "--project", str(project)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("template-check: could not reach the template /nowhere/sagemaker-ml-")


def test_check_reports_a_damaged_state_file_and_succeeds(tmp_path, capsys):
    (tmp_path / template.CRUFT_FILE).write_text("{")
    assert template.main(["check", "--project", str(tmp_path)]) == 0
    assert "template-check: .cruft.json is not cruft's" in capsys.readouterr().out


def prepare(tmp_path: Path, case: str) -> Path:
    if case == "unlinked":
        return tmp_path
    if case == "outside git":
        (tmp_path / template.CRUFT_FILE).write_text(json.dumps(CRUFT_STATE))
        return tmp_path
    if case == "state not committed":
        return linked_project(tmp_path, commit_state=False)
    if case == "on dev":
        return linked_project(tmp_path, branch="dev")
    project = linked_project(tmp_path)
    (project / "README.md").write_text("# An edit in progress\n")
    return project


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unlinked", "not linked to its template (no .cruft.json); link it: cruft link"),
        ("outside git", "not a git repository"),
        ("state not committed", ".cruft.json is not committed"),
        ("on dev", "on dev: update on a branch of its own: git switch -c feature/template-update"),
        ("uncommitted changes", "the work tree has uncommitted changes"),
    ],
)
def test_update_refuses_what_it_cannot_merge_in_one_line(tmp_path, capsys, case, message):
    project = prepare(tmp_path, case)
    before = sorted(path.name for path in project.iterdir())
    assert template.main(["update", "--project", str(project)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: template-update: ") and message in line
    assert sorted(path.name for path in project.iterdir()) == before


def test_diff_refuses_a_project_without_its_template(tmp_path, capsys):
    assert template.main(["diff", "--project", str(tmp_path)]) == 1
    assert "error: template-diff: not linked to its template" in capsys.readouterr().err
