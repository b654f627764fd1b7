"""Fixtures for the template's harness: rendering, and the reusable project environments."""

import os
import sys
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
def project_python(interpreter):
    """A factory: the Python of the shared environment for generated projects of a version."""

    def python_for(version: str = harness.DEFAULT_PYTHON) -> Path:
        interpreter(version)
        return harness.project_env(version)

    return python_for


@pytest.fixture
def render(tmp_path):
    """Render the template into this test's folder with the given answers."""

    def render_with(**answers: str) -> Path:
        return harness.render(tmp_path, **answers)

    return render_with
