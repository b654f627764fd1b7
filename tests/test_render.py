"""Every choice value renders, the interacting combinations render, and nothing is left over."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import harness

LEFTOVERS = ("{{", "{%", "{#", "cookiecutter.")
CHOICE_VALUES = [(option, value) for option, values in harness.CHOICES.items() for value in values]


def project_files(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts]


def assert_fully_rendered(project: Path) -> None:
    for path in project_files(project):
        relative = str(path.relative_to(project))
        assert not any(marker in relative for marker in LEFTOVERS), relative
        text = path.read_text(encoding="utf-8")
        for marker in LEFTOVERS:
            assert marker not in text, f"{relative} still contains {marker!r}"


def ruff(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", *args, "--no-cache", "."]
    return subprocess.run(command, cwd=project, capture_output=True, text=True)


def test_default_renders_the_documented_layout(render):
    project = render()
    assert project.name == "customer-churn"
    package = project / "src" / "customer_churn"
    for step in ("data", "train", "evaluate", "infer", "pipeline"):
        assert (package / step / "__init__.py").exists(), step
    for path in ("settings.py", "naming.py"):
        assert (package / path).exists()
    for path in ("README.md", "CONTRIBUTING.md", "Makefile", "pyproject.toml", ".pre-commit-config.yaml"):
        assert (project / path).exists(), path
    assert [path.name for path in (project / "notebooks").iterdir()] == ["exploration.ipynb"]
    assert_fully_rendered(project)


def test_rendering_writes_no_bytecode_into_the_template(render, monkeypatch):
    """The pre-generation hook runs the template's naming.py: a __pycache__ it left there would be
    copied into every later render (and fail it: cookiecutter reads it as text)."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    project = render()
    project_template = harness.TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
    assert not list(project_template.rglob("__pycache__")), "remove them; rendering left them"
    assert not list(project.rglob("__pycache__"))


@pytest.mark.parametrize(("option", "value"), CHOICE_VALUES, ids=[f"{o}={v}" for o, v in CHOICE_VALUES])
def test_every_choice_value_renders_clean_code(render, option, value):
    project = render(**{option: value})
    assert_fully_rendered(project)
    harness.parse_structured_files(project)
    check, formatting = ruff(project, "check"), ruff(project, "format", "--check")
    assert check.returncode == 0, check.stdout
    assert formatting.returncode == 0, formatting.stdout


@pytest.mark.parametrize("answers", harness.COMBINATIONS, ids=lambda a: "-".join(a.values()))
def test_combinations_render_clean_code_and_keep_only_their_data(render, answers):
    project = render(**answers)
    assert_fully_rendered(project)
    harness.parse_structured_files(project)
    assert ruff(project, "check").returncode == 0
    assert ruff(project, "format", "--check").returncode == 0
    sample = project / "data" / "sample"
    samples = sorted(str(path.relative_to(sample)) for path in sample.rglob("*") if path.is_file())
    dataset = "breast_cancer" if answers["problem_type"] == "binary_classification" else "diabetes"
    capture = f"{dataset}-{answers['model_framework']}.jsonl"
    assert samples == sorted([f"{dataset}.csv", f"capture/clean/{capture}", f"capture/drifted/{capture}"])
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(dep.startswith("xgboost") for dep in dependencies) == (answers["model_framework"] == "xgboost")
    distributed = project / "src" / project.name.replace("-", "_") / "train" / "distributed.py"
    assert distributed.is_file() == (answers["model_framework"] == "xgboost")


def test_the_images_python_reaches_the_tooling_and_only_it(render):
    project = render()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == "==3.12.*"
    assert pyproject["tool"]["ruff"]["target-version"] == "py312"
    assert "sh scripts/find_python.sh 3.12 " in (project / "Makefile").read_text()
    settings = (project / "src" / "customer_churn" / "settings.py").read_text()
    assert 'PYTHON_VERSION = "3.12"' in settings  # the images' (IMAGE_PYTHON derives from it)
    for buildspec in (project / "buildspecs").glob("*.yml"):
        assert 'python: "3.12"' in buildspec.read_text(), buildspec.name


def test_git_repository_has_main_and_dev(render):
    project = render(_init_git="yes")

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout

    assert git("branch", "--show-current").strip() == "dev"
    assert set(git("branch", "--format=%(refname:short)").split()) == {"main", "dev"}
    assert git("rev-parse", "main") == git("rev-parse", "dev")
    assert git("status", "--porcelain") == ""


def test_git_can_be_skipped(render):
    assert not (render(_init_git="no") / ".git").exists()


def test_one_account_for_all_stages_is_the_default(render):
    settings = (render(dev_account_id="222222222222") / "src" / "customer_churn" / "settings.py").read_text()
    for stage in ("DEV", "STAGING", "PROD"):
        assert f'{stage}_ACCOUNT_ID = "222222222222"' in settings


DOCUMENTS = ("README.md", "CONTRIBUTING.md", "docs/deployment.md")


def flow_table(text: str) -> str:
    """The markdown table that starts with the `| event | what runs | where |` header."""
    start = text.index("| event | what runs | where |")
    return text[start : text.index("\n\n", start)]


@pytest.mark.parametrize(
    "answers",
    [{"git_provider": provider} for provider in harness.CHOICES["git_provider"]]
    + [{"inference": inference} for inference in harness.CHOICES["inference"][1:]]
    + [{"_sagemaker_projects": "yes"}],
    ids=lambda answers: "-".join(answers.values()),
)
def test_generated_documents_name_only_what_exists(render, answers):
    """The documents promise only targets, paths and commands the project has."""
    project = render(_init_git="yes", **answers)
    targets = set(re.findall(r"^([a-z-]+):", (project / "Makefile").read_text(), re.MULTILINE))
    for document in DOCUMENTS:
        text = (project / document).read_text()
        for target in re.findall(r"`make ([a-z-]+)", text):
            assert target in targets, f"{document} names `make {target}`, which the Makefile lacks"
        for path in re.findall(r"`((?:src|data|notebooks|tests|scripts|infra|buildspecs|docs)/[\w./-]*)`", text):
            assert (project / path.rstrip("/")).exists(), f"{document} names {path}, which is missing"
    # The branch flow is one table, the same in the README and in the deployment guide.
    readme, guide = ((project / d).read_text() for d in ("README.md", "docs/deployment.md"))
    assert flow_table(readme) == flow_table(guide)


# "docs/customizing.md, "Release a version"": how the template's files point at a section.
SECTION_REFERENCE = re.compile(r'(docs/[\w-]+\.md), "([^"]+)"')


def test_the_template_points_only_at_sections_its_documents_have():
    sources = [*harness.TEMPLATE_DIR.glob("*/*.py"), *harness.TEMPLATE_DIR.glob("docs/*")]
    references = [(source, *match) for source in sources for match in SECTION_REFERENCE.findall(source.read_text())]
    assert references, "the pattern no longer finds the references"
    for source, document, section in references:
        headings = re.findall(r"^#+ (?:\d+\. )?(.+)$", (harness.TEMPLATE_DIR / document).read_text(), re.MULTILINE)
        assert section in headings, f"{source.name} points at {document}, {section!r}, which has no such heading"


@pytest.mark.parametrize("provider", ["github", "gitlab", "bitbucket"])
def test_the_connection_handshake_is_told_as_the_provider_does_it(render, provider):
    guide = (render(git_provider=provider) / "docs" / "deployment.md").read_text()
    step = guide[guide.index("Complete the connection's handshake") :].split("```")[0]
    if provider == "gitlab":  # GitLab authorises by OAuth sign-in; it has no app to install
        assert "sign in to GitLab and authorise" in step and " app for " not in step
    else:
        assert f"install or choose the {provider} app for the repository" in step
