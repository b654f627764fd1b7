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


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (set_version("99.0.0"), "CHANGELOG.md: the newest release is "),
        (set_version("1.0"), "_template_version '1.0' in cookiecutter.json: not a semantic version"),
        (leave_uncommitted, "the work tree has uncommitted changes"),
    ],
    ids=["not in the changelog", "not semantic", "uncommitted"],
)
def test_release_refuses_in_one_line_and_tags_nothing(template, change, problem):
    change(template)
    result = make_release(template)
    assert result.returncode != 0
    [line] = errors(result)
    assert line.startswith(f"error: release: {problem}")
    assert git(template, "tag", "--list") == ""
