"""The image record (images.toml), settings, pyproject.toml, uv.lock and the installed versions
agree: the tests run the jobs' code on the versions of the image the jobs run in."""

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("lock_script", PROJECT_ROOT / "scripts" / "lock.py")
lock_script = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(lock_script)
RECORD = (PROJECT_ROOT / "images.toml").read_text(encoding="utf-8")
IMAGE = tomllib.loads(RECORD)["image"]
RELOCK = "edit images.toml to the image's versions, then run make lock and make setup"


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {package["name"]: package["version"] for package in lock["package"]}


def test_the_record_names_the_image_settings_names():
    recorded = (IMAGE["framework"], IMAGE["version"])
    assert recorded == settings.FRAMEWORK_IMAGE, (
        f"images.toml records image {recorded}, settings.FRAMEWORK_IMAGE is "
        f"{settings.FRAMEWORK_IMAGE}; {RELOCK}"
    )
    assert IMAGE["python"] == settings.PYTHON_VERSION, (
        f"images.toml records Python {IMAGE['python']}, settings has {settings.PYTHON_VERSION}"
    )
    assert IMAGE["source"].startswith("https://"), "images.toml: say where the pins were read"


def test_pyproject_constrains_to_the_record():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    constraints = pyproject["tool"]["uv"]["constraint-dependencies"]
    assert constraints == lock_script.image_constraints(RECORD), (
        "pyproject.toml's constraint-dependencies differ from images.toml; run make lock"
    )


def test_the_lock_holds_the_recorded_versions():
    locked = locked_versions()
    pins = IMAGE["pins"]
    differing = {name: locked.get(name) for name in pins if locked.get(name) != pins[name]}
    assert not differing, f"uv.lock has {differing}, not images.toml's versions; run make lock"


def test_the_lock_matches_pyproject():
    uv = Path(sys.executable).with_name("uv")  # the dev extra's
    command = [str(uv), "lock", "--check", "--offline", "--quiet", "--python", sys.executable]
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, env=environment)
    assert result.returncode == 0, "uv.lock does not match pyproject.toml; run make lock"


def test_the_installed_versions_are_the_locked_ones():
    locked = locked_versions()
    for name in IMAGE["pins"]:
        installed = importlib.metadata.version(name)
        assert installed == locked[name], (
            f"{name} {installed} is installed, uv.lock has {locked[name]}; run make setup"
        )


@pytest.mark.parametrize(
    ("pyproject", "constraints", "expected"),
    [
        (
            'a = 1\nconstraint-dependencies = [\n    "numpy==1",\n]\nb = 2\n',
            ["numpy==2", "scipy==3"],
            'a = 1\nconstraint-dependencies = [\n    "numpy==2",\n    "scipy==3",\n]\nb = 2\n',
        ),
        (
            "constraint-dependencies = [\n]\n",
            ["pandas==2"],
            'constraint-dependencies = [\n    "pandas==2",\n]\n',
        ),
    ],
)
def test_make_lock_rewrites_only_the_constraint_list(pyproject, constraints, expected):
    assert lock_script.with_constraints(pyproject, constraints) == expected


def test_make_lock_refuses_a_pyproject_without_the_constraint_list():
    with pytest.raises(SystemExit, match=r"no \[tool.uv\] constraint-dependencies list"):
        lock_script.with_constraints("[project]\n", ["numpy==2"])


def test_the_python_finder_names_the_problem_and_the_fix(tmp_path):
    missing = tmp_path / "python3.12"
    finder = ["sh", str(PROJECT_ROOT / "scripts" / "find_python.sh"), settings.PYTHON_VERSION]
    result = subprocess.run([*finder, str(missing)], capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: PYTHON={missing} not found; install Python ")
    found = subprocess.run([*finder, str(missing), sys.executable], capture_output=True, text=True)
    assert found.returncode == 0 and Path(found.stdout.strip()).samefile(sys.executable)
