"""project.yml: lint-clean, tagged, and unable to disagree with the seed's own infra/."""

import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from cfnlint.api import ManualArgs, lint_file
from conftest import SEED_DIRS, TEMPLATE_ROOT, load_template

# What the longest project id makes of the names the project template types itself.
LONGEST_ID = "p" * 20
NAME_LIMITS = {"RoleName": 64, "FunctionName": 64, "Name": 150}


def test_project_template_has_no_errors_and_no_warnings(seed):
    matches = lint_file(seed / "project.yml", ManualArgs(regions=["us-east-1"]))
    assert not [str(match) for match in matches]


def test_nested_stack_is_the_seeds_cicd_with_exactly_its_parameters(seed):
    """Same resources, properties and names: the nested stack is the seed's file, byte for byte."""
    with zipfile.ZipFile(seed / "seed.zip") as archive:
        assert archive.read("infra/cicd.yml") == (seed / "cicd.yml").read_bytes()
        assert archive.read("infra/target-account.yml") == (seed / "target-account.yml").read_bytes()
    resources = load_template(seed / "project.yml")["Resources"]
    cicd = load_template(seed / "cicd.yml")["Parameters"]
    nested = resources["Cicd"]["Properties"]
    assert nested["TemplateURL"]["Fn::Sub"].endswith(f"/{artifacts(seed)}/cicd.yml")
    given = nested["Parameters"]
    assert {name for name, spec in cicd.items() if "Default" not in spec} <= set(given) <= set(cicd)
    for name, value in given.items():
        from_project = {"Ref": "ConnectionArn"} if name == "ConnectionArn" else None
        assert value == (from_project or {"Fn::GetAtt": ["CicdParameters", name]}), name


def test_stackset_is_the_seeds_target_account_with_all_its_parameters(seed):
    resources = load_template(seed / "project.yml")["Resources"]
    target = load_template(seed / "target-account.yml")["Parameters"]
    stackset = resources["TargetAccounts"]["Properties"]
    assert stackset["TemplateURL"]["Fn::Sub"].endswith(f"/{artifacts(seed)}/target-account.yml")
    keys = [parameter["ParameterKey"] for parameter in stackset["Parameters"]]
    assert sorted(keys) == sorted(target)
    for parameter in stackset["Parameters"]:
        key = parameter["ParameterKey"]
        assert parameter["ParameterValue"] == {"Fn::GetAtt": ["TargetAccountParameters", key]}
    # Prod's instances differ only in the capture bucket; one account for both gets one group.
    [staging, prod_if_separate] = stackset["StackInstancesGroup"]
    assert "ParameterOverrides" not in staging
    _, prod, otherwise = prod_if_separate["Fn::If"]
    assert [o["ParameterKey"] for o in prod["ParameterOverrides"]] == ["CaptureBucketName"]
    assert otherwise == {"Ref": "AWS::NoValue"}


def artifacts(seed: Path) -> str:
    return f"artifacts/{seed.parent.name}/{seed.name}"


def test_every_resource_carries_the_project_tags(seed):
    """Nested stacks and the StackSet pass their tags on to every resource they create."""
    expected = {
        "sagemaker:project-name": {"Ref": "SageMakerProjectName"},
        "sagemaker:project-id": {"Ref": "SageMakerProjectId"},
    }
    for name, resource in load_template(seed / "project.yml")["Resources"].items():
        if resource["Type"].startswith("Custom::"):  # not AWS resources: nothing to tag
            continue
        tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"]["Tags"]}
        assert tags == expected, name


def test_names_the_template_types_fit_at_the_longest_project_id(seed):
    for name, resource in load_template(seed / "project.yml")["Resources"].items():
        for field, limit in NAME_LIMITS.items():
            value = resource["Properties"].get(field)
            if isinstance(value, dict) and "Fn::Sub" in value:
                made = value["Fn::Sub"].replace("${SageMakerProjectId}", LONGEST_ID)
                assert "${" not in made and len(made) <= limit, (name, made)


def test_artifacts_the_template_reads_are_the_ones_seed_built(seed):
    text = (seed / "project.yml").read_text()
    read = set(re.findall(rf"{re.escape(artifacts(seed))}/([\w.-]+)", text))
    built = {path.name for path in seed.iterdir()} - {"manifest.json", "project.yml"}
    assert read == built


# --- The seeding build, run here against a local bare repository ---


def seed_project(provider: str = "github") -> dict:
    return load_template(SEED_DIRS[provider] / "project.yml")["Resources"]["SeedProject"]["Properties"]


def test_the_inlined_buildspec_is_seed_buildspec_yml():
    inlined = seed_project()["Source"]["BuildSpec"]
    assert inlined == (TEMPLATE_ROOT / "sagemaker_projects" / "seed-buildspec.yml").read_text()


def run_seeding(source: Path, url: str, home: Path) -> subprocess.CompletedProcess:
    """The buildspec's commands in one shell, as CodeBuild runs them, with the template's variables."""
    properties = seed_project()
    variables = {variable["Name"] for variable in properties["Environment"]["EnvironmentVariables"]}
    environment = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(home),
        "REPOSITORY": "acme/churn",
        "CONNECTION_ARN": "arn:aws:codeconnections:us-east-1:111111111111:connection/0a1b",
        "GIT_REPOSITORY_URL": url,
        "COMMIT_AUTHOR": "SageMaker project Churn",
        "COMMIT_EMAIL": "ml-platform@example.com",
        "COMMIT_MESSAGE": "Seed the project",
    }
    assert variables == set(environment) - {"PATH", "HOME"}
    commands = yaml.safe_load(properties["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    return subprocess.run(
        ["bash", "-c", "\n".join(commands)], cwd=source, env=environment, capture_output=True, text=True
    )


def git(*args, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def seed_source(tmp_path) -> Path:
    """A fresh copy of the seed as CodeBuild unpacks its S3 source."""
    source = tmp_path / "source"
    with zipfile.ZipFile(SEED_DIRS["github"] / "seed.zip") as archive:
        archive.extractall(source)
    return source


def test_seeding_pushes_the_seed_to_main_and_dev_of_an_empty_repository(seed_source, tmp_path):
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    result = run_seeding(seed_source, f"file://{remote}", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    main = git("rev-parse", "main", cwd=remote).strip()
    assert git("rev-parse", "dev", cwd=remote).strip() == main
    assert result.stdout.strip().splitlines()[-1] == f"seeding: pushed main and dev to acme/churn at {main}"
    with zipfile.ZipFile(SEED_DIRS["github"] / "seed.zip") as archive:
        seeded = sorted(archive.namelist())
    assert sorted(git("ls-tree", "-r", "--name-only", "main", cwd=remote).split()) == seeded
    assert git("log", "--format=%an <%ae>|%s", "main", cwd=remote).strip() == (
        "SageMaker project Churn <ml-platform@example.com>|Seed the project"
    )


def test_seeding_leaves_a_repository_with_branches_alone(seed_source, tmp_path):
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    work = tmp_path / "work"
    git("clone", "--quiet", str(remote), str(work), cwd=tmp_path)
    (work / "README.md").write_text("theirs\n")
    git("add", "README.md", cwd=work)
    git("-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "--quiet", "-m", "theirs", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    before = git("rev-parse", "main", cwd=remote)
    result = run_seeding(seed_source, f"file://{remote}", tmp_path)
    assert result.returncode != 0
    assert result.stdout.strip().splitlines()[-1] == (
        "seeding: acme/churn already has branches; the seed goes only into an empty repository: "
        "create the project again with an empty one"
    )
    assert git("rev-parse", "main", cwd=remote) == before
    assert git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote).split() == ["main"]


def test_seeding_says_when_it_cannot_reach_the_repository(seed_source, tmp_path):
    result = run_seeding(seed_source, f"file://{tmp_path}/missing.git", tmp_path)
    assert result.returncode != 0
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("seeding: cannot read acme/churn through arn:aws:codeconnections:")
    assert last.endswith("the connection must be AVAILABLE and its app installed for the repository")
