"""Fixtures for the template's harness: rendering, and the reusable project environments."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness


@pytest.fixture(scope="session")
def interpreter():
    """A factory: the interpreter of a Python version (e.g. "3.12").

    Outside CI a missing interpreter skips the test; in CI (CI=true) it fails it.
    """

    def find(version: str) -> str:
        python = harness.find_python(version)
        if python is None:
            message = f"Python {version} is not installed here"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        return python

    return find


@pytest.fixture(scope="session")
def environments():
    """A factory: wait for a shared environment (a framework's, "lint-only", "checkov",
    "awscli"); its command. A framework's is synced from its shipped lock with every extra;
    "lint-only" is the default framework's with only the dev extra (no SageMaker SDK).

    The first call starts building every missing one, two at a time: a 2-core CI machine builds
    two almost as fast as one. Each call waits for its own.
    """
    builds = {}

    def ready(name: str) -> Path:
        if not builds:
            if harness.find_python(harness.DEFAULT_PYTHON):
                for framework in harness.CHOICES["model_framework"]:
                    harness.locked_project(framework)  # rendered now: the threads never change the working folder
                    builds[framework] = pool.submit(harness.project_env, framework)
                lint_only = (harness.DEFAULT_FRAMEWORK, harness.LINT_ONLY_EXTRAS)
                builds["lint-only"] = pool.submit(harness.project_env, *lint_only)
            builds["checkov"] = pool.submit(harness.checkov_env)
            builds["awscli"] = pool.submit(harness.awscli_env)
        return builds[name].result()

    with ThreadPoolExecutor(max_workers=2) as pool:
        yield ready


@pytest.fixture(scope="session")
def project_python(interpreter, environments):
    """A factory: the Python of the shared environment for generated projects of a framework."""

    def python_for(framework: str = harness.DEFAULT_FRAMEWORK) -> Path:
        interpreter(harness.DEFAULT_PYTHON)
        return environments(framework)

    return python_for


@pytest.fixture(scope="session")
def checkov(environments) -> Path:
    """The checkov command, from its own environment (it pins an old boto3)."""
    return environments("checkov")


@pytest.fixture
def render(tmp_path):
    """Render the template into this test's folder with the given answers."""

    def render_with(**answers: str) -> Path:
        return harness.render(tmp_path, **answers)

    return render_with


@pytest.fixture(scope="session")
def awscli(environments) -> Path:
    """The `aws` command, from its own environment (`make register` runs it)."""
    return environments("awscli")
