"""Answers are data: special characters give valid files, and code or Jinja stays inert text."""

import ast
import json
import subprocess
import sys
import tomllib

import pytest
import yaml
from jinja2.exceptions import SecurityError

import harness
from local_extensions import string_literal

AWKWARD_TEXT = [
    'He said "hi"',
    "it's",
    "C:\\path\\",
    "two\nlines\r\nand a\ttab",
    "naïve café, Ærø, 東京, emoji 😀",
    "del \x7f, next line \x85, separators \u2028 \u2029, nul \x00",
    "'''\"\"\" ${HOME} $(rm -rf /) `id`",
]
INJECTION = "'''; import os; os.system('touch pwned'); '''\"\"\"; import os; os.system('touch pwned')"
JINJA = "{{ cookiecutter.project_slug }} {% raw %} {# note #}"


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_string_literal_reads_back_in_every_format(text):
    literal = string_literal(text)
    assert ast.literal_eval(literal) == text
    assert json.loads(literal) == text
    assert tomllib.loads(f"value = {literal}")["value"] == text
    assert yaml.safe_load(f"value: {literal}")["value"] == text


@pytest.fixture(scope="module")
def awkward_project(tmp_path_factory):
    answers = {
        "project_name": 'Prévision "Ventes" d\'été',
        "description": "\n".join([*AWKWARD_TEXT, INJECTION, JINJA]),
        "author_name": 'O\'Brien "Bob" \\ Ünal',
        "author_email": "o'brien+ml@example.com",
    }
    output_dir = tmp_path_factory.mktemp("awkward")
    return harness.render_replay(output_dir, **answers), answers


def test_awkward_answers_give_valid_files(awkward_project):
    project, answers = awkward_project
    assert project.name == "prevision-ventes-d-ete"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["description"] == " ".join(answers["description"].splitlines())
    assert pyproject["authors"] == [{"name": answers["author_name"], "email": answers["author_email"]}]
    harness.parse_structured_files(project)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project, capture_output=True)
    assert lint.returncode == 0, lint.stdout


def test_awkward_answers_give_an_installable_package(awkward_project, tmp_path):
    project, _ = awkward_project
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--ignore-requires-python",
        "--wheel-dir",
        str(tmp_path),
        str(project),
    ]
    built = subprocess.run(command, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    assert [path.name for path in tmp_path.glob("*.whl")] == ["prevision_ventes_d_ete-0.1.0-py3-none-any.whl"]


def test_jinja_in_command_line_answers_cannot_reach_python(tmp_path):
    marker = tmp_path / "pwned"
    payload = f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}"
    with pytest.raises(SecurityError):
        harness.render(tmp_path / "out", author_name=payload)
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_code_and_jinja_in_answers_stay_inert(awkward_project):
    project, _ = awkward_project
    assert not list(project.parent.rglob("pwned"))
    assert not list(harness.TEMPLATE_DIR.rglob("pwned"))
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert JINJA in readme  # shown as typed, not rendered
    assert INJECTION in readme
