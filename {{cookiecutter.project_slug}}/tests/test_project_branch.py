"""Every command line that resolves names uses the project's branch, whatever the current folder.

A copy of the package in a checkout on dev runs each command from another repository on main and
from a folder outside git: the pipeline's names are dev's (never main's, never `local`'s), and
deployments', which always come from main, are main's.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import git_repository

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.deploy import stacks

PACKAGE = "{{ cookiecutter.package_name }}"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_BRANCH = "dev"
PLACES = ("other-repository-on-main", "outside-git")
HAS_SDK = importlib.util.find_spec("sagemaker") is not None


def commands(outputs: Path) -> dict[str, list[str]]:
    """Each command line that calls settings.load() offline, writing under `outputs`."""
    local_run = ["--data", str(settings.SAMPLE_DATA), "--threshold", "0"]
    local_run += ["--runs-dir", str(outputs / "runs"), "--registry-dir", str(outputs / "registry")]
    return {
        # Both build the definition with the SageMaker SDK.
        **(
            {
                "definition": ["-m", f"{PACKAGE}.pipeline", "definition"],
                "run-local": ["-m", f"{PACKAGE}.pipeline.local", *local_run],
            }
            if HAS_SDK
            else {}
        ),
        "stack-parameters": ["-m", f"{PACKAGE}.deploy", "stack-parameters", "target-account"],
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("branch")


@pytest.fixture(scope="module")
def runs(base, no_sdk_telemetry) -> dict[tuple[str, str], str]:
    """The commands' outputs by (place, command); they run side by side, to save time."""
    # A copy, because this project's own folder may be no repository, or one on any branch.
    checkout = base / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "images.toml", "uv.lock"):
        shutil.copy2(PROJECT_ROOT / name, checkout)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PROJECT_ROOT / "src", checkout / "src", ignore=ignore)
    git_repository(checkout, CHECKOUT_BRANCH)
    folders = {PLACES[0]: git_repository(base / PLACES[0], "main"), PLACES[1]: base / PLACES[1]}
    folders[PLACES[1]].mkdir()
    # Git looks no higher than `base`, so outside-git is outside git wherever the tests run.
    env = {**os.environ, "PYTHONPATH": str(checkout / "src"), "GIT_CEILING_DIRECTORIES": str(base)}

    def start(place: str, arguments: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *arguments],
            cwd=folders[place],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    planned = {
        (place, name): arguments
        for place in folders
        for name, arguments in commands(base / "outputs" / place).items()
    }
    processes = {
        key: start(key[0], arguments) for key, arguments in planned.items() if key[1] != "run-local"
    }
    if HAS_SDK:  # the definition the local runs reuse, built here once rather than by each run
        from {{ cookiecutter.package_name }}.pipeline import code, local

        cache = checkout / settings.DEFINITION_CACHE_DIR.relative_to(settings.PROJECT_ROOT)
        local.built_definition(checkout_settings(), code.collect(), cache)
    processes.update(
        (key, start(key[0], arguments))
        for key, arguments in planned.items()
        if key[1] == "run-local"
    )
    outputs = {}
    for key, process in processes.items():
        outputs[key], stderr = process.communicate()
        assert process.returncode == 0, f"{key}: {stderr}"
    return outputs


def checkout_settings() -> settings.Settings:
    return settings.load({**os.environ, "BRANCH_NAME": CHECKOUT_BRANCH})


def entries(node):
    """Every (key, value) pair of a parsed JSON document, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from entries(value)
    elif isinstance(node, list):
        for value in node:
            yield from entries(value)


NEEDS_SDK = pytest.mark.skipif(
    not HAS_SDK, reason="the pipeline extra is not installed: make setup EXTRAS=dev,pipeline"
)


@NEEDS_SDK
@pytest.mark.parametrize("place", PLACES)
def test_the_definition_has_the_checkouts_names(runs, place):
    pairs = list(entries(json.loads(runs[place, "definition"])))
    expected = checkout_settings()
    groups = {value for key, value in pairs if key == "ModelPackageGroupName"}
    assert groups == {expected.names["model_package_group"]}
    code = [v for _, v in pairs if isinstance(v, str) and v.startswith("s3://") and "/code/" in v]
    assert code and all(uri.startswith(f"{expected.branch_root}/code/") for uri in code)


def test_the_console_script_is_the_command_line_tested_here():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    entry_point = pyproject["project"]["scripts"][f"{settings.PROJECT_SLUG}-pipeline"]
    assert entry_point == f"{PACKAGE}.pipeline.__main__:main"


@NEEDS_SDK
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.usefixtures("runs")
def test_the_local_run_registers_into_the_checkouts_group(base, place):
    registry = base / "outputs" / place / "registry"
    groups = [group.name for group in registry.iterdir()]
    assert groups == [checkout_settings().names["model_package_group"]]


@pytest.mark.parametrize("place", PLACES)
def test_deployments_name_mains_resources_from_any_folder(runs, place):
    printed = dict(pair.split("=", 1) for pair in runs[place, "stack-parameters"].split())
    main = settings.load({**os.environ, "BRANCH_NAME": settings.RELEASE_BRANCH})
    assert printed == stacks.target_account(main, main.staging_account_id)
