"""Generated projects pass their own test suites, lint-only too, and install with make."""

import json
import os
import subprocess

import pytest

import harness

# The default combination's suite runs in its own `make ci`, below.
OTHER_COMBINATIONS = [answers for answers in harness.COMBINATIONS if answers != harness.COMBINATIONS[0]]
# Each other way of serving predictions deploys its own infrastructure, with its own tests.
INFERENCE_VARIANTS = [{"inference": inference} for inference in harness.CHOICES["inference"][1:]]


@pytest.mark.parametrize(
    "answers", OTHER_COMBINATIONS + INFERENCE_VARIANTS, ids=lambda answers: "-".join(answers.values())
)
def test_generated_suite_passes(render, project_python, answers, tmp_path):
    framework = answers.get("model_framework", harness.DEFAULT_FRAMEWORK)
    project = render(**answers)
    ignored = [] if framework == "sklearn" else [*harness.CI_TESTS]
    if "inference" in answers:
        harness.check_inference_changes_only_deployment(project, harness.render(tmp_path / "default"))
        ignored += harness.ML_TESTS
    result = harness.run_suite(project, project_python(framework), ignored)
    assert " passed" in result.stdout
    assert " failed" not in result.stdout and " skipped" not in result.stdout


def test_the_inference_variants_may_leave_the_ml_tests_only_while_their_code_is_the_same(render, tmp_path):
    """What lets an inference variant's suite leave out harness.ML_TESTS fails on ML code that
    differs from the default render's, or that reads the inference setting."""
    default, batch = harness.render(tmp_path / "default"), render(inference="batch")
    harness.check_inference_changes_only_deployment(batch, default)
    [default_step, batch_step] = [next((project / "src").glob("*/train/core.py")) for project in (default, batch)]
    batch_step.write_text(default_step.read_text() + "# batch only\n")
    with pytest.raises(AssertionError, match=r"train/core.py differs between the inference variants"):
        harness.check_inference_changes_only_deployment(batch, default)
    reading = default_step.read_text() + "DEPLOYED = settings.DEPLOYS_ENDPOINT\n"
    for step in (default_step, batch_step):
        step.write_text(reading)
    with pytest.raises(AssertionError, match=r"train/core.py reads 'DEPLOYS_'"):
        harness.check_inference_changes_only_deployment(batch, default)


def test_lint_only_setup_passes_its_suite_with_the_sdk_tests_skipped(render, interpreter, environments):
    """What `make setup EXTRAS=dev` installs, without the SageMaker SDK: the suite passes, and
    only the tests that need the SDK skip, saying why."""
    interpreter(harness.DEFAULT_PYTHON)
    python = environments("lint-only")
    assert subprocess.run([python, "-c", "import sagemaker"], capture_output=True).returncode != 0
    result = harness.run_suite(render(), python, extra_arguments=("-rs",))
    assert " passed" in result.stdout and " failed" not in result.stdout
    reasons = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert reasons and all("the pipeline extra is not installed" in line for line in reasons), reasons


def test_fresh_project_sets_up_and_runs_its_ci_with_make(render, project_python):
    """`make ci` in a new project of the default combination, as CI runs it: its own
    virtualenvs from the lock (checkov's apart), its pinned tools, the hooks on every file,
    lint, cfn-lint and checkov, the whole suite with a report, nothing skipped."""
    project_python()  # uv's cache now holds every wheel the project needs
    project = render(_init_git="yes")
    assert {key: harness.OPTIONS[key][0] for key in harness.COMBINATIONS[0]} == harness.COMBINATIONS[0]
    python = harness.find_python(harness.DEFAULT_PYTHON)
    env = {**os.environ, "PRE_COMMIT_HOME": str(harness.BUILD_DIR / "pre-commit")}
    result = subprocess.run(["make", "ci", f"PYTHON={python}"], cwd=project, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "Failed checks: 0" in result.stdout
    assert " failed" not in result.stdout and " skipped" not in result.stdout
    # CI's template check reports (this render has no .cruft.json) and lets the build go on.
    assert "template-check: not linked to its template (no .cruft.json)" in result.stdout
    assert 'failures="0"' in (project / "reports" / "junit.xml").read_text()
    assert (project / ".git" / "hooks" / "pre-commit").exists()
    # The installed console script prints the pipeline definition with no AWS configuration.
    offline = {key: value for key, value in env.items() if not key.startswith("AWS_")}
    offline.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull, HTTPS_PROXY="http://127.0.0.1:9")
    command = [str(project / ".venv" / "bin" / "customer-churn-pipeline"), "definition"]
    definition = subprocess.run(command, cwd=project, capture_output=True, text=True, env=offline)
    assert definition.returncode == 0, definition.stderr[-3000:]
    assert json.loads(definition.stdout)["Version"] == "2020-12-01"
    # A newcomer's `make monitor`: a local run for the baseline, then a clean and a drifting report.
    make_monitor = ["make", "monitor", f"PYTHON={python}"]
    monitor = subprocess.run(make_monitor, cwd=project, capture_output=True, text=True, env=env)
    assert monitor.returncode == 0, monitor.stdout[-3000:] + monitor.stderr[-2000:]
    clean, drifted = (part for part in monitor.stdout.split("monitor check")[1:])
    assert "checked: no drift" in clean and "checked: drift in" in drifted
    pages = sorted(path.read_text()[:300] for path in (project / "monitoring").glob("*/drift.html"))
    assert len(pages) == 2 and "<title>Drift found" in pages[0] and "<title>No drift" in pages[1]
