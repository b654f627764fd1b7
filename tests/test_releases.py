"""Releases: CHANGELOG.md keeps its form, and `make release` tags the version once, or says why not."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from scripts import release

CHANGE_TYPES = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}  # Keep a Changelog's
HEADING = re.compile(r"^(#{1,3}) (.+)$", re.MULTILINE)


def test_the_changelog_keeps_a_changelog_and_its_newest_release_is_the_template_version():
    text = (harness.TEMPLATE_DIR / "CHANGELOG.md").read_text()
    headings = HEADING.findall(text)
    assert headings[0] == ("#", "Changelog")
    assert headings[1] == ("##", "[Unreleased]")
    releases = [release.RELEASE_HEADING.fullmatch(f"{level} {title}") for level, title in headings if level == "##"]
    assert all(releases[1:]), "every section after Unreleased is '## [<version>] - <YYYY-MM-DD>'"
    versions = [tuple(map(int, match["version"].split("."))) for match in releases[1:]]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    assert {title for level, title in headings if level == "###"} <= CHANGE_TYPES
    assert releases[1]["version"] == harness.OPTIONS["_template_version"]
    assert release.SEMANTIC_VERSION.fullmatch(harness.OPTIONS["_template_version"])


@pytest.fixture
def template(tmp_path) -> Path:
    """A scratch repository with what a release reads: cookiecutter.json, CHANGELOG.md, the script."""
    for name in ("cookiecutter.json", "CHANGELOG.md", "scripts/release.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(harness.TEMPLATE_DIR / name, tmp_path / name)
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "add", "--all")
    git(tmp_path, "commit", "--quiet", "-m", "A release candidate")
    return tmp_path


def git(repository: Path, *arguments: str) -> str:
    identity = ["-c", "user.name=Platform Team", "-c", "user.email=platform@example.com", "-c", "tag.gpgsign=false"]
    command = ["git", *identity, "-c", "commit.gpgsign=false", *arguments]
    return subprocess.run(command, cwd=repository, check=True, capture_output=True, text=True).stdout


def make_release(template: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    env |= {"GIT_COMMITTER_NAME": "Platform Team", "GIT_COMMITTER_EMAIL": "platform@example.com"}
    command = ["make", "-f", str(harness.TEMPLATE_DIR / "Makefile"), "release", f"PYTHON={sys.executable}"]
    return subprocess.run(command, cwd=template, env=env, capture_output=True, text=True)


def errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_release_tags_the_version_with_its_changelog_section_once(template):
    version = harness.OPTIONS["_template_version"]
    first = make_release(template)
    assert first.returncode == 0, first.stderr
    assert f"release: tagged v{version}; publish it with git push origin v{version}" in first.stdout
    message = git(template, "tag", "--list", "--format=%(contents)", f"v{version}")
    assert message.startswith(f"Release {version}\n\n### Added\n")
    again = make_release(template)
    assert again.returncode != 0
    assert errors(again) == [
        f"error: release: v{version} is already tagged; raise _template_version in cookiecutter.json"
    ]


def set_version(version: str):
    def change(template: Path) -> None:
        options = json.loads((template / "cookiecutter.json").read_text())
        options["_template_version"] = version
        (template / "cookiecutter.json").write_text(json.dumps(options))
        git(template, "commit", "--quiet", "--all", "-m", "Change the version")

    return change


def leave_uncommitted(template: Path) -> None:
    (template / "CHANGELOG.md").write_text((template / "CHANGELOG.md").read_text() + "\nAn unfinished note\n")


def switch_to_a_feature_branch(template: Path) -> None:
    git(template, "switch", "--quiet", "--create", "feature/experiment")


def detach(template: Path) -> None:
    git(template, "switch", "--quiet", "--detach")


def add_a_remote_main_does_not_track(template: Path) -> None:
    git(template, "remote", "add", "origin", str(publish(template)))


def publish(template: Path) -> Path:
    """A bare repository beside `template` holding its main, as `origin`."""
    remote = template.parent / f"{template.name}-origin.git"
    git(template.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(template, "push", "--quiet", str(remote), "main")
    return remote


def track_a_remote(template: Path) -> None:
    remote = publish(template)
    git(template, "remote", "add", "origin", str(remote))
    git(template, "fetch", "--quiet", "origin")
    git(template, "branch", "--quiet", "--set-upstream-to", "origin/main")


def commit_without_pushing(template: Path) -> None:
    track_a_remote(template)
    git(template, "commit", "--quiet", "--allow-empty", "-m", "Not merged upstream")


def fall_behind_the_remote(template: Path) -> None:
    """Someone else merges to the remote's main; the local main has not pulled it."""
    track_a_remote(template)
    other = template.parent / "other-clone"
    git(template.parent, "clone", "--quiet", str(template.parent / f"{template.name}-origin.git"), str(other))
    git(other, "commit", "--quiet", "--allow-empty", "-m", "Merged by someone else")
    git(other, "push", "--quiet", "origin", "main")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (set_version("99.0.0"), "CHANGELOG.md: the newest release is "),
        (set_version("1.0"), "_template_version '1.0' in cookiecutter.json: not a semantic version"),
        (leave_uncommitted, "the work tree has uncommitted changes"),
        (switch_to_a_feature_branch, "on branch feature/experiment; releases are tagged from main"),
        (detach, "not on a branch; releases are tagged from main"),
        (add_a_remote_main_does_not_track, "main tracks no remote branch; git branch --set-upstream-to origin/main"),
        (commit_without_pushing, "main is 1 commit ahead of origin/main; merge through origin/main first"),
        (fall_behind_the_remote, "main is 1 commit behind origin/main; git pull, then release"),
    ],
    ids=[
        "not in the changelog",
        "not semantic",
        "uncommitted",
        "feature branch",
        "detached",
        "untracked",
        "ahead",
        "behind",
    ],
)
def test_release_refuses_in_one_line_and_tags_nothing(template, change, problem):
    change(template)
    result = make_release(template)
    assert result.returncode != 0
    [line] = errors(result)
    assert line.startswith(f"error: release: {problem}")
    assert git(template, "tag", "--list") == ""


def test_release_from_a_main_in_step_with_its_remote_tags_it(template):
    track_a_remote(template)
    result = make_release(template)
    assert result.returncode == 0, result.stderr
    assert git(template, "tag", "--list") == f"v{harness.OPTIONS['_template_version']}\n"
