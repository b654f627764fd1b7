"""`make seed` and the SageMaker Projects template it builds (sagemaker_projects/).

The seed is reproducible and holds the rendered project alone; the project inside passes its
own tests as a SageMaker project would run them, and names itself after that project; the
project template passes cfn-lint (sagemaker_projects/tests) and checkov. The tests that need
boto3, moto and cfn-lint run in the generated projects' environment.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import harness
from sagemaker_projects import seed as seed_builder

PROJECT_ENVIRONMENT = {
    "SAGEMAKER_PROJECT_NAME": "Churn-Studio",
    "SAGEMAKER_PROJECT_ID": "p-abcdefghijkl",
    "DEV_ACCOUNT_ID": "222222222222",
    "STAGING_ACCOUNT_ID": "333333333333",
    "PROD_ACCOUNT_ID": "444444444444",
}
TEMPLATE_SYNTAX = ("{{", "{%", "{#", "cookiecutter.")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    """One seed per git provider, built once for this module."""
    output = tmp_path_factory.mktemp("seeds")
    return {
        provider: seed_builder.build({"git_provider": provider}, None, output)
        for provider in harness.CHOICES["git_provider"]
    }


@pytest.fixture(scope="module")
def seed_project(seeds, tmp_path_factory) -> Path:
    """The default seed's project, unpacked as the seeding build pushes it."""
    project = tmp_path_factory.mktemp("seed-project")
    with zipfile.ZipFile(seeds["github"] / "seed.zip") as archive:
        archive.extractall(project)
    return project


def test_a_second_build_gives_the_same_bytes_and_overwrites_nothing(seeds, tmp_path):
    again = seed_builder.build({"git_provider": "github"}, None, tmp_path)
    assert again.name == seeds["github"].name
    for file in seeds["github"].iterdir():
        assert (again / file.name).read_bytes() == file.read_bytes(), file.name
    before = {file.name: file.stat().st_mtime_ns for file in again.iterdir()}
    assert seed_builder.build({"git_provider": "github"}, None, tmp_path) == again
    assert {file.name: file.stat().st_mtime_ns for file in again.iterdir()} == before


def test_the_seed_zip_holds_the_rendered_project_and_no_template_syntax(seeds, tmp_path):
    rendered = harness.render(tmp_path, **seed_builder.SEED_ANSWERS)
    expected = sorted(p.relative_to(rendered).as_posix() for p in rendered.rglob("*") if p.is_file())
    with zipfile.ZipFile(seeds["github"] / "seed.zip") as archive:
        assert sorted(archive.namelist()) == expected
        for name in archive.namelist():
            if name.endswith((".py", ".md", ".yml", ".yaml", ".toml", ".json", ".cfg", "Makefile")):
                text = archive.read(name).decode()
                assert not [s for s in TEMPLATE_SYNTAX if s in text], name


def test_the_seed_passes_its_own_tests_as_a_sagemaker_project(seed_project, project_python):
    command = [str(project_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    suite = subprocess.run(
        command, cwd=seed_project, env={**os.environ, **PROJECT_ENVIRONMENT}, capture_output=True, text=True
    )
    assert suite.returncode == 0, suite.stdout[-4000:]
    assert " passed" in suite.stdout


def stack_parameters(seed_project: Path, python: Path, environment: dict) -> subprocess.CompletedProcess:
    [package] = [path.name for path in (seed_project / "src").iterdir()]
    command = [str(python), "-m", f"{package}.deploy", "stack-parameters", "cicd", "--repository", "acme/churn"]
    variables = {"PATH": os.environ["PATH"], "PYTHONPATH": str(seed_project / "src"), **environment}
    return subprocess.run(command, cwd=seed_project, env=variables, capture_output=True, text=True)


def test_the_seeds_names_carry_the_project_name_and_id(seed_project, project_python):
    result = stack_parameters(seed_project, project_python(), PROJECT_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    parameters = dict(pair.split("=", 1) for pair in result.stdout.split())
    names = {
        key: value
        for key, value in parameters.items()
        if key.endswith(("Name", "Alias")) and not key.startswith("SageMakerProject")
    }
    assert len(names) > 25
    assert all("churn-studio-p-abcdefghijkl" in value for value in names.values()), names
    assert parameters["SageMakerProjectName"] == "Churn-Studio"


def test_the_seed_refuses_to_name_aws_resources_without_its_project(seed_project, project_python):
    result = stack_parameters(seed_project, project_python(), {})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "deploy: error: this project was created by SageMaker Projects: set SAGEMAKER_PROJECT_NAME and "
        "SAGEMAKER_PROJECT_ID (the project's page in Studio shows both) and DEV_ACCOUNT_ID, "
        "STAGING_ACCOUNT_ID and PROD_ACCOUNT_ID, so that AWS names are the project's"
    ]


def test_project_template_launcher_and_registration_tests_pass(seeds, project_python, awscli):
    """sagemaker_projects/tests: lint, agreement with infra/, tags, seeding, the launcher and
    `make register` on moto (with the real AWS CLI), the Service Catalog calls."""
    command = [str(project_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider", "sagemaker_projects/tests"]
    environment = {
        **os.environ,
        "SEED_DIRS": json.dumps({provider: str(d) for provider, d in seeds.items()}),
        "AWSCLI": str(awscli),
    }
    suite = subprocess.run(command, cwd=harness.TEMPLATE_DIR, env=environment, capture_output=True, text=True)
    assert suite.returncode == 0, suite.stdout[-4000:]
    assert " passed" in suite.stdout and "skipped" not in suite.stdout


def test_checkov_finds_no_failed_check_in_any_template_of_sagemaker_projects(seeds, checkov):
    templates = [folder / "project.yml" for folder in seeds.values()]
    templates += [harness.TEMPLATE_DIR / "sagemaker_projects" / n for n in ("registration.yml", "service-catalog.yml")]
    targets = [argument for template in templates for argument in ("--file", str(template))]
    # About 20 checks pass in each project template (fewer with CodeCommit: no seeding build),
    # 25 in the registration's.
    assert harness.checkov_scan(checkov, *targets)["Passed"] >= 15 * len(seeds) + 25


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--template-name", "x" * 33], "at most 32 letters, digits and single hyphens"),
        (["--template-name", "two--hyphens"], "at most 32 letters, digits and single hyphens"),
        (["gitprovider=gitlab"], "gitprovider: not an option of the template"),
        (["git_provider"], "give answers as option=value"),
        (["aws_region=mars-1"], "the template refused the answers"),
        (["model_framework=pytorch"], "model_framework 'pytorch': not supported; choose one of sklearn, xgboost"),
        (["python_version=3.12"], "python_version: not an option of the template"),
    ],
)
def test_bad_seed_inputs_are_one_line_and_build_nothing(arguments, expected, tmp_path, capsys):
    assert seed_builder.main([*arguments, "--output-dir", str(tmp_path / "out")]) == 2
    assert expected in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_refused_answers_print_the_hooks_lines_and_no_traceback(tmp_path):
    command = [sys.executable, "-m", "sagemaker_projects.seed", "dev_account_id=12"]
    result = subprocess.run(
        [*command, "--output-dir", str(tmp_path / "out")], cwd=harness.TEMPLATE_DIR, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: dev_account_id '12': an AWS account id is 12 digits" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "seed: error: the template refused the answers (the lines above say why)"
    )
    assert not (tmp_path / "out").exists()


def test_the_printed_next_step_runs_once_its_placeholders_are_filled(seeds, capsys):
    output = seeds["github"].parents[1]  # built already: the same answers give the same folder
    assert seed_builder.main(["git_provider=github", "--output-dir", str(output)]) == 0
    [command] = re.findall(r"`(make register [^`]*)`", capsys.readouterr().out)
    filled = re.sub(r"<[^>]*>", "filled", command)
    dry_run = subprocess.run(
        ["make", "--dry-run", *shlex.split(filled)[1:]], cwd=harness.TEMPLATE_DIR, capture_output=True, text=True
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert "--route s3" in dry_run.stdout and "--domain-id filled" in dry_run.stdout


def test_the_platform_guide_names_only_targets_and_files_the_template_has():
    guide = (harness.TEMPLATE_DIR / "docs" / "sagemaker-projects.md").read_text()
    makefile = (harness.TEMPLATE_DIR / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    assert {"seed", "register"} <= set(re.findall(r"make ([a-z-]+)", guide)) <= targets
    for path in re.findall(r"`((?:sagemaker_projects|tests|docs)/[\w./-]*)`", guide):
        assert (harness.TEMPLATE_DIR / path).exists(), path
