"""infra/ passes cfn-lint and checkov for every git provider, in one account and in three, and
for every way of serving predictions.

infra/ depends on the git provider and on `inference` (and the accounts, as parameter
defaults): each way of serving predictions deploys templates of its own. cfn-lint
(no finding) and checkov (no failed check) each scan every variant's infra/ in one run, as the
generated `make lint-infra` does: cfn-lint in the projects' region from the generated projects'
environment, checkov from one of its own at the generated Makefile's pin (it pins an old boto3
that would break moto). Each variant also runs the generated tests of its templates (every name
a parameter within AWS's limits), of its branch flow and of its monitoring. The generated
buildspec tests, and the default variant's infra and flow tests, run with the default project's
suite (test_generated_projects.py).
"""

import subprocess

import pytest

import harness

THREE_ACCOUNTS = {
    "dev_account_id": "111111111111",
    "staging_account_id": "222222222222",
    "prod_account_id": "333333333333",
}
VARIANTS = [{"git_provider": provider} for provider in harness.CHOICES["git_provider"]]
VARIANTS.append({"git_provider": "github", **THREE_ACCOUNTS})
VARIANTS += [
    {"git_provider": "github", "inference": inference, **THREE_ACCOUNTS}
    for inference in harness.CHOICES["inference"][1:]
]
BOOTSTRAP = ["cicd.yml", "target-account.yml"]
TEMPLATES = {
    "realtime": sorted([*BOOTSTRAP, "endpoint.yml", "monitoring.yml"]),
    "batch": sorted([*BOOTSTRAP, "batch.yml"]),
    "both": sorted([*BOOTSTRAP, "batch.yml", "endpoint.yml", "monitoring.yml"]),
}


def variant_id(answers: dict) -> str:
    accounts = "-three-accounts" if "prod_account_id" in answers else ""
    inference = f"-{answers['inference']}" if "inference" in answers else ""
    return answers["git_provider"] + accounts + inference


def inference_of(variant: str) -> str:
    return next((value for value in TEMPLATES if variant.endswith(f"-{value}")), "realtime")


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Every variant, rendered once for this module."""
    return {
        variant_id(answers): harness.render(tmp_path_factory.mktemp(variant_id(answers)), **answers)
        for answers in VARIANTS
    }


# The default's (github, one account) run in its own `make ci` (test_generated_projects.py).
@pytest.mark.parametrize("variant", [variant_id(answers) for answers in VARIANTS[1:]])
def test_generated_infra_and_flow_tests_pass(projects, project_python, variant):
    project = projects[variant]
    assert sorted(path.name for path in (project / "infra").glob("*.yml")) == TEMPLATES[inference_of(variant)]
    tests = ["tests/test_infra.py", "tests/test_cicd_flow.py"]
    tests += sorted(str(path.relative_to(project)) for path in (project / "tests").glob("test_*_infra.py"))
    command = [str(project_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    suite = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert suite.returncode == 0, suite.stdout[-4000:]
    assert " passed" in suite.stdout and "skipped" not in suite.stdout


def test_cfn_lint_finds_nothing_in_any_variant(projects, project_python):
    templates = [str(path) for project in projects.values() for path in sorted((project / "infra").glob("*.yml"))]
    command = [str(project_python().parent / "cfn-lint"), *templates, "--regions", harness.OPTIONS["aws_region"]]
    lint = subprocess.run(command, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-2000:]
    assert len(templates) == sum(len(TEMPLATES[inference_of(variant)]) for variant in projects)


def test_checkov_finds_no_failed_check_in_any_variant(projects, checkov):
    targets = [argument for project in projects.values() for argument in ("--directory", str(project / "infra"))]
    counts = harness.checkov_scan(checkov, *targets)
    # About 120 checks pass in each variant's three templates.
    assert counts["Passed"] >= 100 * len(projects), counts
