"""Keep this project in step with its template, with cruft (README, "Template updates").

    python scripts/template.py check    # one line: up to date, behind, not linked; never fails
    python scripts/template.py update   # on a branch: apply the template's changes, relock
    python scripts/template.py diff     # how the project differs from its template version

Projects follow the template's releases, its `v<major>.<minor>.<patch>` tags: `check` compares
with the newest, and `update` goes to it (`--to <ref>` to another tag, a branch or a commit); a
template with no release tags is followed on its default branch. `check` is a report, not a
gate: CI runs it on every push, and a template out of reach (no network, no credentials) must
not stop a build. `update` and `diff` refuse, in one line, what cruft would get wrong.
"""

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

CRUFT_FILE = ".cruft.json"
# The version this project was generated from, as settings.TEMPLATE_VERSION holds it: written
# here too because this script runs without the project installed.
TEMPLATE_VERSION = {{ cookiecutter._template_version | string_literal }}
LINK = (
    f"link it: cruft link <template-git-url> --checkout v{TEMPLATE_VERSION}, "
    "then commit .cruft.json"
)
PROTECTED_BRANCHES = ("main", "dev")
# Only plain releases: a tag such as v1.2.0-rc.1 is for trying, not for following.
RELEASE_TAG = re.compile(r"refs/tags/(v(\d+)\.(\d+)\.(\d+))$", re.MULTILINE)


def git(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *arguments], cwd=project, capture_output=True, text=True)


class TemplateError(Exception):
    """The template could not be reached, or cruft or the template stopped (one line)."""


def one_line(message: object) -> str:
    return " ".join(str(message).split()) or type(message).__name__


def template_state(project: Path) -> dict:
    return json.loads((project / CRUFT_FILE).read_text(encoding="utf-8"))


def version_of(state: dict) -> str:
    return state["context"]["cookiecutter"].get("_template_version", "unknown")


@contextlib.contextmanager
def renders_as_generated(project: Path) -> Iterator[None]:
    """Make cruft render the template as this project was generated, while it runs.

    cruft re-renders without the private answers (`_sagemaker_projects`), so a SageMaker
    Projects seed would be compared with renders of the other mode: cookiecutter's user config
    gives them back (the renders are scratch copies: no git repository). And cruft renders two
    commits of the template in one process, where Python would keep the template's Jinja
    extensions module from the first: each render imports its own (cruft==2.16.0's internals).
    """
    from cruft._commands.utils import generate

    answers = template_state(project)["context"]["cookiecutter"]
    preset = {"_sagemaker_projects": answers.get("_sagemaker_projects", "no"), "_init_git": "no"}
    modules = {extension.split(".")[0] for extension in answers.get("_extensions", [])}
    render_context = generate.generate_cookiecutter_context

    def fresh_render_context(*arguments, **options):
        for module in modules:
            sys.modules.pop(module, None)
        return render_context(*arguments, **options)

    saved = os.environ.get("COOKIECUTTER_CONFIG")
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "answers.yaml"
        config.write_text(json.dumps({"default_context": preset}), encoding="utf-8")  # JSON is YAML
        os.environ["COOKIECUTTER_CONFIG"] = str(config)
        generate.generate_cookiecutter_context = fresh_render_context
        try:
            yield
        finally:
            generate.generate_cookiecutter_context = render_context
            if saved is None:
                del os.environ["COOKIECUTTER_CONFIG"]
            else:
                os.environ["COOKIECUTTER_CONFIG"] = saved


def newest_release(template: str) -> str | None:
    """The template's newest release tag, or None when it has none."""
    command = ["git", "ls-remote", "--tags", "--refs", template]
    listing = subprocess.run(command, capture_output=True, text=True)
    if listing.returncode:
        raise TemplateError(one_line(listing.stderr))
    releases = [match.groups() for match in RELEASE_TAG.finditer(listing.stdout)]
    newest = max(releases, key=lambda release: tuple(map(int, release[1:])), default=None)
    return newest[0] if newest else None


def run_cruft(command: str, project: Path, **options) -> bool:
    import cruft
    from cookiecutter import exceptions as rendering
    from cruft.exceptions import CruftError

    try:
        return getattr(cruft, command)(project, **options)
    except (CruftError, rendering.CookiecutterException) as error:
        raise TemplateError(one_line(error)) from error


def check(project: Path) -> str:
    """Whether the template has moved on since this project's version, as one line."""
    if not (project / CRUFT_FILE).is_file():
        return f"template-check: not linked to its template (no {CRUFT_FILE}); {LINK}"
    try:
        state = template_state(project)
        template = state["template"]
    except (ValueError, KeyError) as error:
        return f"template-check: {CRUFT_FILE} is not cruft's (no template in it: {one_line(error)})"
    # A report never waits for a password or a host key: without credentials, git fails at once.
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    os.environ.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    try:
        release = newest_release(template)
        with contextlib.redirect_stdout(io.StringIO()):  # cruft's own banner; this line says it
            up_to_date = run_cruft("check", project, checkout=release)
    except Exception as error:  # any failure to look is reported, never raised: see the docstring
        return f"template-check: could not reach the template {template}: {one_line(error)}"
    newest = f"its newest release {release}" if release else "its default branch"
    if up_to_date:
        return f"template-check: {version_of(state)} is up to date with {newest} ({template})"
    return (
        f"template-check: {template} has changed in {newest} since this project's version "
        f"{version_of(state)}; run make template-update on a branch of its own"
    )


def update_problem(project: Path) -> str | None:
    """Why an update cannot start here, or None."""
    if not (project / CRUFT_FILE).is_file():
        return f"not linked to its template (no {CRUFT_FILE}); {LINK}"
    if git(project, "rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        return "not a git repository: an update merges with the project's history; use git first"
    if git(project, "ls-files", "--error-unmatch", CRUFT_FILE).returncode:
        return f"{CRUFT_FILE} is not committed (cruft writes it after the first commit); commit it"
    branch = git(project, "branch", "--show-current").stdout.strip()
    if branch in PROTECTED_BRANCHES:
        return f"on {branch}: update on a branch of its own: git switch -c feature/template-update"
    if git(project, "status", "--porcelain").stdout.strip():
        return "the work tree has uncommitted changes: commit or stash them first"
    return None


def unresolved(project: Path) -> list[str]:
    """The files an update left with conflicts: unmerged paths and rejected hunks."""
    unmerged = git(project, "diff", "--name-only", "--diff-filter=U").stdout.split()
    rejected = git(project, "ls-files", "--others", "--exclude-standard", "*.rej").stdout.split()
    return sorted(set(unmerged + rejected))


def relock(project: Path) -> str | None:
    """Lock the merged pyproject.toml (`make lock`), or say why that failed. uv.lock itself is
    never merged (pyproject.toml's [tool.cruft] skip): a lock with conflict markers is no lock."""
    uv = Path(sys.executable).with_name("uv")  # the dev extra's, beside this script's Python
    command = [sys.executable, "scripts/lock.py", "--uv", str(uv), "--python", sys.executable]
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    locking = subprocess.run(command, cwd=project, capture_output=True, text=True, env=environment)
    return f"uv lock failed: {one_line(locking.stderr)[-300:]}" if locking.returncode else None


def update(project: Path, to: str | None) -> int:
    problem = update_problem(project)
    if problem:
        print(f"error: template-update: {problem}", file=sys.stderr)
        return 1
    state = template_state(project)
    try:
        to = to or newest_release(state["template"])
        with renders_as_generated(project):
            # cruft's own question (y/n/s/v) fails under typer >= 0.25, which vendors Click and
            # refuses cruft's click.Choice: the branch and the work tree are the review instead.
            applied = run_cruft("update", project, skip_apply_ask=True, checkout=to)
    except TemplateError as failure:
        print(f"error: template-update: {failure}", file=sys.stderr)
        return 1
    if not applied:
        return 1
    if conflicts := unresolved(project):
        print(
            f"error: template-update: conflicts in {', '.join(conflicts)}: resolve the <<<<<<< "
            "markers (or the .rej hunks), git add the files, run make lock and make test, "
            "then commit",
            file=sys.stderr,
        )
        return 1
    if problem := relock(project):
        print(f"error: template-update: merged, but {problem}; run make lock", file=sys.stderr)
        return 1
    after = version_of(template_state(project))
    if git(project, "status", "--porcelain").stdout.strip():
        print(
            f"template-update: {version_of(state)} -> {after} is in the work tree: review it "
            f"(git diff HEAD), run make test and commit it with {CRUFT_FILE}; or drop it: "
            "git reset --hard; git clean -fd"
        )
    return 0


def diff(project: Path) -> int:
    if not (project / CRUFT_FILE).is_file():
        problem = f"not linked to its template (no {CRUFT_FILE}); {LINK}"
        print(f"error: template-diff: {problem}", file=sys.stderr)
        return 1
    try:
        with renders_as_generated(project):
            run_cruft("diff", project)
    except TemplateError as failure:
        print(f"error: template-diff: {failure}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "update", "diff"])
    parser.add_argument("--to", help="update: a tag, branch or commit (default: newest release)")
    here = Path(__file__).resolve().parent.parent  # scripts/ sits in the project, run from anywhere
    parser.add_argument("--project", type=Path, default=here, help="default: this script's project")
    arguments = parser.parse_args(argv)
    project = arguments.project.resolve()
    if arguments.command == "check":
        print(check(project))
        return 0
    return update(project, arguments.to) if arguments.command == "update" else diff(project)


if __name__ == "__main__":
    sys.exit(main())
