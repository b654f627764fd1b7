"""`make setup` in a generated project: uv from the lock, with uv from PyPI and the images'
Python from PATH, pyenv or PYTHON=; a wrong interpreter or a stale lock gets one line; changed
extras install again; a second setup installs nothing."""

import os
import subprocess
from pathlib import Path

import harness

FIX = "make setup PYTHON=/path/to/python3.12"
# pyenv resolves `pyenv install -s 3.12` to the newest 3.12 release and downloads it, even where
# a 3.12 is installed; `pyenv local 3.12` alone takes the installed one.
PYENV_HINT = "pyenv local 3.12,"
# What pyenv's shim does when pyenv has the version but it is not the active one.
PYENV_SHIM = """#!/bin/sh
echo "pyenv: python3.12: command not found" >&2
echo >&2
echo "The \\`python3.12' command exists in these Python versions:" >&2
echo "  3.12.1" >&2
exit 127
"""


def make_setup(
    project: Path,
    *variables: str,
    path_dirs: tuple[Path, ...] = (),
    dry_run: bool = False,
    pyenv_root: Path | None = None,
    offline: bool = True,
) -> subprocess.CompletedProcess:
    """`make setup` as a user runs it: no uv on PATH, and pyenv's versions under `pyenv_root`
    (None: an empty folder). Offline, a bad interpreter that got through would fail at once
    instead of downloading."""
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHON", "EXTRAS", "UV")}
    path = [*map(str, path_dirs), *(entry for entry in env["PATH"].split(os.pathsep) if not Path(entry, "uv").exists())]
    env["PATH"] = os.pathsep.join(path)
    env["PYENV_ROOT"] = str(pyenv_root or project.parent / "no-pyenv")
    if offline:
        env.update(PIP_NO_INDEX="1", UV_OFFLINE="1")
    command = ["make", *(["--dry-run"] if dry_run else []), "setup", *variables]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, env=env)


def shim_dir(tmp_path: Path) -> Path:
    """A folder with pyenv's shim of a python3.12 that pyenv has but has not made active."""
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3.12").write_text(PYENV_SHIM)
    (shims / "python3.12").chmod(0o755)
    return shims


def assert_refused_in_one_line(result: subprocess.CompletedProcess, project: Path, problem: str) -> None:
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, result.stdout + result.stderr
    assert error_lines[0].startswith(f"error: {problem}; ") and FIX in error_lines[0], error_lines[0]
    assert PYENV_HINT in error_lines[0] and "pyenv install -s" not in error_lines[0], error_lines[0]
    assert "Error 127" not in result.stdout + result.stderr
    assert not (project / ".venv").exists()


def test_pyenv_shim_of_an_inactive_version_is_refused(tmp_path):
    project = harness.render(tmp_path)
    result = make_setup(project, f"UV={harness.UV}", path_dirs=(shim_dir(tmp_path),))
    assert_refused_in_one_line(result, project, "PYTHON=python3.12 does not run")


def test_interpreter_of_another_version_is_refused(tmp_path):
    python = tmp_path / "python3.11"  # answers as Python 3.11 would, so no 3.11 need be installed
    python.write_text("#!/bin/sh\necho 'is Python 3.11'\n")
    python.chmod(0o755)
    project = harness.render(tmp_path / "out")
    result = make_setup(project, f"PYTHON={python}", f"UV={harness.UV}")
    assert_refused_in_one_line(result, project, f"PYTHON={python} is Python 3.11")


def test_missing_interpreter_is_refused(tmp_path):
    project = harness.render(tmp_path)
    missing = tmp_path / "nowhere" / "python3.12"
    result = make_setup(project, f"PYTHON={missing}", f"UV={harness.UV}")
    assert_refused_in_one_line(result, project, f"PYTHON={missing} not found")


def installs(result: subprocess.CompletedProcess) -> str | None:
    """The extras `make --dry-run setup` would install, or None if it would install nothing."""
    assert result.returncode == 0, result.stdout + result.stderr
    sync_lines = [line for line in result.stdout.splitlines() if "sync --locked --quiet" in line]
    if not sync_lines:
        return None
    extras = sync_lines[0].split("--extra ")[1:]
    return ",".join(extra.split()[0] for extra in extras)


def test_extras_given_to_make_install_again_when_they_differ(tmp_path):
    project = harness.render(tmp_path)
    (project / ".venv").mkdir()
    (project / ".venv" / ".installed").write_text("dev\n")  # what `make setup EXTRAS=dev` leaves
    (project / ".venv" / ".installed").touch()  # newer than pyproject.toml and uv.lock
    assert installs(make_setup(project, dry_run=True)) is None  # every target uses the lint-only .venv
    assert installs(make_setup(project, "EXTRAS=dev", dry_run=True)) is None
    assert installs(make_setup(project, "EXTRAS=dev,pipeline", dry_run=True)) == "dev,pipeline"
    (project / ".venv" / ".installed").unlink()
    assert installs(make_setup(project, dry_run=True)) == "dev,pipeline,tracking"


def test_the_python_version_file_of_the_pyenv_hint_is_ignored(tmp_path):
    project = harness.render(tmp_path)
    (project / ".python-version").write_text("3.12\n")
    subprocess.run(["git", "init", "--quiet"], cwd=project, check=True)
    ignored = subprocess.run(["git", "check-ignore", "--quiet", ".python-version"], cwd=project)
    assert ignored.returncode == 0, "template-update refuses a dirty tree: .python-version must be ignored"


def test_a_fresh_render_sets_up_from_its_lock_and_a_second_setup_installs_nothing(tmp_path):
    """No uv on PATH (it comes from PyPI), pyenv's 3.12 behind an inactive shim, then nothing
    to do; the installed versions are the lock's."""
    project = harness.render(tmp_path)
    pyenv_root = tmp_path / "pyenv"
    (pyenv_root / "versions" / "3.12.99" / "bin").mkdir(parents=True)
    python = harness.find_python(harness.DEFAULT_PYTHON)
    (pyenv_root / "versions" / "3.12.99" / "bin" / "python3.12").symlink_to(python)
    shims = shim_dir(tmp_path)
    first = make_setup(project, path_dirs=(shims,), pyenv_root=pyenv_root, offline=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (project / ".uv" / "bin" / "uv").exists() and (project / ".venv" / "bin" / "pre-commit").exists()
    installed = (project / ".venv" / ".installed").stat().st_mtime_ns
    second = make_setup(project, path_dirs=(shims,), pyenv_root=pyenv_root)
    assert second.returncode == 0 and "Nothing to be done for 'setup'" in second.stdout, second.stdout
    assert (project / ".venv" / ".installed").stat().st_mtime_ns == installed
    uv = project / ".venv" / "bin" / "uv"
    check = [str(uv), "sync", "--locked", "--check", "--offline", "--extra", "dev", "--extra", "pipeline"]
    synced = subprocess.run(check, cwd=project, capture_output=True, text=True, env=harness.uv_environment())
    assert synced.returncode == 0, synced.stderr


def test_a_pyproject_changed_without_relocking_is_refused_in_one_line(tmp_path):
    project = harness.render(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "joblib>=1.3",\n', '    "joblib>=1.3",\n    "rich>=13",\n'))
    result = make_setup(project, f"PYTHON={harness.find_python(harness.DEFAULT_PYTHON)}", f"UV={harness.UV}")
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error_lines == [
        "error: uv.lock does not match pyproject.toml; run 'make lock' (it needs PyPI), then commit both files"
    ], result.stderr
    assert not (project / ".venv").exists()
