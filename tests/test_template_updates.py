"""Generated projects take the template's later releases with cruft, and say when one exists.

Each test builds its own template history in a scratch repository: this template as it is now,
committed and tagged as its release, then a realistic change on top. Nothing depends on this
repository's own history or reaches a git host: cruft clones the scratch repository.
"""

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

import harness

VERSION = harness.OPTIONS["_template_version"]
MAJOR, MINOR, PATCH = map(int, VERSION.split("."))
NEXT_MINOR, NEXT_PATCH = f"{MAJOR}.{MINOR + 1}.0", f"{MAJOR}.{MINOR}.{PATCH + 1}"
SLUG = "{{cookiecutter.project_slug}}"
STEP = f"{SLUG}/src/{{{{cookiecutter.package_name}}}}/train/core.py"
CONFLICT_LINE = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)


@pytest.fixture
def git_env(tmp_path) -> dict[str, str]:
    """An environment in which git and cookiecutter read no user configuration."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(json.dumps({"replay_dir": str(tmp_path / "replay")}))
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Platform Team",
        "GIT_AUTHOR_EMAIL": "platform@example.com",
        "GIT_COMMITTER_NAME": "Platform Team",
        "GIT_COMMITTER_EMAIL": "platform@example.com",
        "COOKIECUTTER_CONFIG": str(config),
    }


def run(command: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise AssertionError(f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def template_repository(path: Path, env: dict) -> Path:
    """This template's files as they are now (tracked or new, never ignored), committed and tagged."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], harness.TEMPLATE_DIR, env)
    for name in filter(None, listed.stdout.split("\0")):
        source = harness.TEMPLATE_DIR / name
        if source.is_file():  # a tracked file deleted in the work tree is gone from the template
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, path / name)
    run(["git", "init", "--quiet", "--initial-branch=main"], path, env)
    commit(path, env, f"Release {VERSION}")
    run(["git", "tag", f"v{VERSION}"], path, env)
    return path


def commit(repository: Path, env: dict, message: str) -> None:
    run(["git", "add", "--all"], repository, env)
    run(["git", "commit", "--quiet", "--no-verify", "-m", message], repository, env)


def replace(path: Path, old: str, new: str, after: str = "") -> None:
    """Replace the first `old` that follows the text `after`; it must be there."""
    text = path.read_text()
    position = text.index(old, text.index(after))
    path.write_text(text[:position] + new + text[position + len(old) :])


def insert_after(path: Path, anchor: str, line: str) -> None:
    replace(path, anchor, anchor + line)


def release(template: Path, env: dict, version: str) -> None:
    """Commit the template's changes as `version`, as `make release` wants it, and tag it."""
    current = json.loads((template / "cookiecutter.json").read_text())["_template_version"]
    replace(template / "cookiecutter.json", f'"_template_version": "{current}"', f'"_template_version": "{version}"')
    insert_after(
        template / "CHANGELOG.md", "## [Unreleased]\n", f"\n## [{version}] - 2026-12-24\n\n### Changed\n\n- ...\n"
    )
    commit(template, env, f"Release {version}")
    run(["git", "tag", f"v{version}"], template, env)


def move_template_forward(template: Path, env: dict) -> str:
    """A release a platform team would make: a new file, a changed buildspec, a changed line in
    the step the team also edits, a README line near the team's, a new dependency (the team
    adds another), a new version. Its notebook changes too, which the team's copy (skipped)
    must not take. Returns the new version."""
    version = NEXT_MINOR
    project = template / SLUG
    (project / "docs" / "runbook.md").write_text("# {{ cookiecutter.project_name }}: runbook\n")
    insert_after(
        project / "buildspecs" / "ci.yml", 'PIP_DISABLE_PIP_VERSION_CHECK: "1"\n', '    PIP_PROGRESS_BAR: "off"\n'
    )
    replace(
        project / "src" / "{{cookiecutter.package_name}}" / "train" / "core.py",
        "        random_state=hyperparameters.seed,\n",
        "        random_state=hyperparameters.seed,  # the same data gives the same model\n",
        after="        max_iter=",  # the scikit-learn estimator's
    )
    replace(project / "README.md", "Each step is a pure core", "Each step is a pure, tested core")
    insert_after(project / "pyproject.toml", '    "numpy>=1.26",\n', TEMPLATE_DEPENDENCY)
    replace(project / "notebooks" / "exploration.ipynb", "Explore the data", "Explore the sample data")
    release(template, env, version)
    # Work merged after the release reaches no project until the next release.
    (project / "docs" / "unreleased.md").write_text("Not released yet\n")
    commit(template, env, "Start the next release")
    return version


# The dependency the release adds, a few lines from the team's own (LOCAL_LINES).
TEMPLATE_DEPENDENCY = '    "packaging>=24",\n'
# A team's first weeks: (file, the line after which it adds a line of its own, that line).
LOCAL_LINES = [
    ("src/customer_churn/train/core.py", "        early_stopping=False,\n", "        l2_regularization=0.1,\n"),
    ("README.md", "call the same entry points.\n", "The churn labels come from the CRM's monthly export.\n"),
    ("pyproject.toml", '    "scipy>=1.11",\n', '    "pyyaml>=6.0",\n'),
]


def make_local_edits(project: Path, env: dict) -> None:
    """A changed step, an edited README section, a new dependency, an edited and a new notebook."""
    run(["git", "switch", "--quiet", "-c", "feature/first-model"], project, env)
    for name, anchor, line in LOCAL_LINES:
        insert_after(project / name, anchor, line)
    notebooks = project / "notebooks"
    replace(notebooks / "exploration.ipynb", "Explore the data", "Explore the CRM export")
    (notebooks / "labels.ipynb").write_text(
        (notebooks / "exploration.ipynb").read_text().replace("# Exploration", "# Labels")
    )
    commit(project, env, "Train with L2 regularisation, read the labels, explore the CRM export")


def cruft_of(python: Path) -> Path:
    return python.parent / "cruft"


def create_project(python: Path, template: Path, output_dir: Path, env: dict) -> Path:
    """`cruft create` from the template's release, and .cruft.json committed, on a branch: cruft
    writes it after the first commit (the post-generation hook's)."""
    run(
        [cruft_of(python), "create", template, "--checkout", f"v{VERSION}", "--no-input", "--output-dir", output_dir],
        output_dir,
        env,
    )
    project = output_dir / "customer-churn"
    run(["git", "switch", "--quiet", "-c", "feature/link-template"], project, env)
    commit(project, env, "Link the template")
    return project


def update(python: Path, project: Path, env: dict) -> subprocess.CompletedProcess:
    """`make template-update`'s command, on a branch of its own."""
    run(["git", "switch", "--quiet", "-c", "feature/template-update"], project, env)
    return run([python, "scripts/template.py", "update"], project, env)


def text_files(project: Path) -> dict[Path, str]:
    """Every file of the project outside .git, read as text."""
    files = (path for path in project.rglob("*") if path.is_file() and ".git" not in path.relative_to(project).parts)
    return {path: path.read_text(errors="replace") for path in files}


def test_an_updated_project_keeps_its_edits_takes_the_release_and_passes_its_tests(tmp_path, git_env, project_python):
    python = project_python()
    template = template_repository(tmp_path / "template", git_env)
    project = create_project(python, template, tmp_path, git_env)
    run([cruft_of(python), "check"], project, git_env)  # green: created from the newest release
    make_local_edits(project, git_env)
    version = move_template_forward(template, git_env)

    behind = subprocess.run([cruft_of(python), "check"], cwd=project, env=git_env, capture_output=True, text=True)
    assert behind.returncode == 1 and "out of date" in behind.stdout
    updated = update(python, project, git_env)
    assert f"template-update: {VERSION} -> {version} is in the work tree" in updated.stdout

    files = text_files(project)
    assert not [path for path in files if path.suffix == ".rej"]
    assert not [path for path, text in files.items() if CONFLICT_LINE.search(text)]
    for name, anchor, line in LOCAL_LINES:
        assert anchor + line in files[project / name], f"the team's line in {name} is gone"
    notebooks = project / "notebooks"
    assert "Explore the CRM export" in files[notebooks / "exploration.ipynb"]  # skipped: the team's
    assert "# Labels" in files[notebooks / "labels.ipynb"]
    assert files[project / "docs" / "runbook.md"] == "# Customer Churn: runbook\n"
    assert not (project / "docs" / "unreleased.md").exists()
    assert '    PIP_PROGRESS_BAR: "off"\n' in files[project / "buildspecs" / "ci.yml"]
    step = files[project / "src" / "customer_churn" / "train" / "core.py"]
    assert "  # the same data gives the same model\n        early_stopping=False,\n        l2_regularization" in step
    assert "Each step is a pure, tested core" in files[project / "README.md"]
    assert f"came from version {version} of the SageMaker" in files[project / "README.md"]
    assert f'TEMPLATE_VERSION = "{version}"' in files[project / "src" / "customer_churn" / "settings.py"]
    # Both dependencies are in pyproject.toml and, relocked, in the lock (its tests check it is current).
    assert TEMPLATE_DEPENDENCY in files[project / "pyproject.toml"]
    locked = tomllib.loads(files[project / "uv.lock"])["package"]
    [own] = [package for package in locked if package["name"] == "customer-churn"]
    assert {"packaging", "pyyaml"} <= {dependency["name"] for dependency in own["dependencies"]}

    commit(project, git_env, f"Take the template's {version}")
    run([cruft_of(python), "check", "--checkout", f"v{version}"], project, git_env)  # green again
    check = run([python, "scripts/template.py", "check"], project, git_env).stdout  # main has moved on since
    assert f"{version} is up to date with its newest release v{version}" in check
    harness.run_suite(project, python)


def test_a_linked_project_is_checked_against_the_newest_release(tmp_path, git_env, project_python):
    """A project made with plain cookiecutter and linked later; CI's check reports and passes."""
    python = project_python()
    template = template_repository(tmp_path / "template", git_env)
    run([python.parent / "cookiecutter", template, "--no-input", "-o", tmp_path], tmp_path, git_env)
    project = tmp_path / "customer-churn"
    run([cruft_of(python), "link", template, "--checkout", f"v{VERSION}", "--no-input"], project, git_env)
    run([cruft_of(python), "check"], project, git_env)
    check = [python, "scripts/template.py", "check"]
    assert f"{VERSION} is up to date with its newest release v{VERSION}" in run(check, project, git_env).stdout

    version = move_template_forward(template, git_env)
    behind = subprocess.run([cruft_of(python), "check"], cwd=project, env=git_env, capture_output=True, text=True)
    assert behind.returncode == 1
    report = run(check, project, git_env).stdout  # still succeeds: a report, not a gate
    assert f"has changed in its newest release v{version} since this project's version {VERSION}" in report


def test_a_release_that_adds_a_jinja_filter_renders_with_it(tmp_path, git_env, project_python):
    """cruft renders both versions in one process: the new one must not get the old extensions."""
    python = project_python()
    template = template_repository(tmp_path / "template", git_env)
    project = create_project(python, template, tmp_path, git_env)
    extensions = template / "local_extensions.py"
    extensions.write_text(extensions.read_text() + RUNBOOK_FILTER)
    replace(
        template / "cookiecutter.json",
        '"_extensions": [\n',
        '"_extensions": [\n    "local_extensions.RunbookTitleExtension",\n',
    )
    (template / SLUG / "docs" / "runbook.md").write_text("# {{ cookiecutter.project_name | runbook_title }}\n")
    release(template, git_env, NEXT_PATCH)

    update(python, project, git_env)
    assert (project / "docs" / "runbook.md").read_text() == "# Customer Churn: runbook\n"


RUNBOOK_FILTER = """

def runbook_title(project_name: str) -> str:
    return f"{project_name}: runbook"


RunbookTitleExtension = simple_filter(runbook_title)
"""


def test_a_sagemaker_projects_seed_is_updated_in_its_own_mode(tmp_path, git_env, project_python):
    """A repository SageMaker Projects seeded, linked as docs/customizing.md says, takes a change
    to what only seeds have (cruft alone would render the template in the other mode)."""
    python = project_python()
    template = template_repository(tmp_path / "template", git_env)
    answers = {"project_name": "ML Project", "_sagemaker_projects": "yes"}
    seed = [python.parent / "cookiecutter", template, "--no-input", "-o", tmp_path]
    run([*seed, *(f"{option}={value}" for option, value in answers.items())], tmp_path, git_env)
    project = tmp_path / "ml-project"
    link = [cruft_of(python), "link", template, "--checkout", f"v{VERSION}", "--no-input", "--extra-context"]
    run([*link, json.dumps(answers)], project, git_env)
    run(["git", "switch", "--quiet", "-c", "feature/link-template"], project, git_env)
    commit(project, git_env, "Link the template")
    replace(
        template / SLUG / "README.md",
        "the seed code of a SageMaker Projects template",
        "the seed code of a SageMaker Projects custom template",
    )
    release(template, git_env, NEXT_PATCH)

    update(python, project, git_env)
    assert "the seed code of a SageMaker Projects custom template" in (project / "README.md").read_text()
    assert "SAGEMAKER_PROJECTS = True" in (project / "src" / "ml_project" / "settings.py").read_text()


def test_a_line_both_changed_is_left_as_a_named_conflict(tmp_path, git_env, project_python):
    python = project_python()
    template = template_repository(tmp_path / "template", git_env)
    project = create_project(python, template, tmp_path, git_env)
    seed_line = "        random_state=hyperparameters.seed,\n"
    replace(project / "src" / "customer_churn" / "train" / "core.py", seed_line, "        random_state=7,\n")
    commit(project, git_env, "A fixed seed")
    replace(
        template / SLUG / "src" / "{{cookiecutter.package_name}}" / "train" / "core.py",
        seed_line,
        "        random_state=hyperparameters.seed + 1,\n",
        after="        max_iter=",
    )
    release(template, git_env, NEXT_PATCH)

    run(["git", "switch", "--quiet", "-c", "feature/template-update"], project, git_env)
    result = subprocess.run(
        [python, "scripts/template.py", "update"], cwd=project, env=git_env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: template-update: conflicts in src/customer_churn/train/core.py: resolve the <<<<<<< "
        "markers (or the .rej hunks), git add the files, run make lock and make test, then commit"
    )
    step = (project / "src" / "customer_churn" / "train" / "core.py").read_text()
    assert "random_state=7," in step and "random_state=hyperparameters.seed + 1," in step
    assert CONFLICT_LINE.search(step)


def test_the_customizing_guide_names_only_targets_and_files_that_exist():
    """docs/customizing.md speaks of both the template and a generated project: each `make`
    target and path it names is one of theirs (the hypothetical `explain` step aside)."""
    guide = (harness.TEMPLATE_DIR / "docs" / "customizing.md").read_text()
    project = harness.TEMPLATE_DIR / SLUG
    makefiles = (harness.TEMPLATE_DIR / "Makefile").read_text() + (project / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefiles, re.MULTILINE))
    for target in re.findall(r"make ([a-z-]+)", guide):
        assert target in targets, f"docs/customizing.md names `make {target}`, which neither Makefile has"
    roots = ["hooks", "tests", "scripts", "docs", "sagemaker_projects", "src", "notebooks", "data", "infra"]
    roots = "|".join(map(re.escape, [SLUG, *roots, "buildspecs", ".ci"]))
    for path in re.findall(rf"`((?:{roots})/[^`<]*)`", guide):
        if "explain" not in path:
            assert (harness.TEMPLATE_DIR / path).exists() or (project / path).exists(), f"{path} is missing"
