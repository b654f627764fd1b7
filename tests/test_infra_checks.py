"""infra/ passes cfn-lint and checkov for every git provider, in one account and in three.

cfn-lint runs from the generated projects' environment; checkov from one of its own, at the
generated Makefile's pin (it pins an old boto3 that would break moto). Each variant also runs
the generated tests of its templates and branch flow; the whole generated suite, buildspecs
against moto included, runs for the default provider (test_generated_projects.py).
"""

import re
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


def variant_id(answers: dict) -> str:
    return answers["git_provider"] + ("-three-accounts" if "prod_account_id" in answers else "")


@pytest.fixture(scope="module")
def checkov():
    return harness.checkov_env()


@pytest.mark.parametrize("answers", VARIANTS, ids=variant_id)
def test_infra_has_no_lint_findings_and_no_failed_checks(render, project_python, checkov, answers):
    project = render(**answers)
    infra = project / "infra"
    templates = sorted(str(path) for path in infra.glob("*.yml"))
    assert [path.rsplit("/", 1)[1] for path in templates] == ["cicd.yml", "endpoint.yml", "target-account.yml"]
    lint = subprocess.run([str(project_python().parent / "cfn-lint"), *templates], capture_output=True, text=True)
    assert lint.returncode == 0 and lint.stdout == "", lint.stdout
    command = [str(checkov), "--directory", str(infra), "--framework", "cloudformation", "--compact", "--quiet"]
    scan = subprocess.run([*command, "--skip-download"], capture_output=True, text=True)
    assert scan.returncode == 0, scan.stdout[-3000:] + scan.stderr[-2000:]
    counts = {kind: int(n) for kind, n in re.findall(r"(Passed|Failed) checks: (\d+)", scan.stdout)}
    # About 120 checks pass when all three templates are scanned.
    assert counts["Failed"] == 0 and counts["Passed"] >= 100, scan.stdout[-3000:]
    tests = ["tests/test_infra.py", "tests/test_cicd_flow.py"]
    command = [str(project_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    suite = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert suite.returncode == 0, suite.stdout[-4000:]
    assert " passed" in suite.stdout and "skipped" not in suite.stdout
