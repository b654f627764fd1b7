"""Tag a release of the template: `make release` (docs/customizing.md, "Release a version").

The version is `_template_version` in cookiecutter.json, the one every generated project
records. A release needs a clean work tree on the main branch, a semantic version that is not
tagged yet, and that version's CHANGELOG.md section as the newest. Where main tracks a remote
branch, it is fetched first and main must be neither ahead of it nor behind: a tag names only
merged, published work, since projects' `template-check` offers every tag. It is then tagged
`v<version>`, an annotated tag whose message is the section, ready to push.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
SEMANTIC_VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
MAIN_BRANCH = "main"
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def git(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *arguments], cwd=TEMPLATE_DIR, capture_output=True, text=True)


def template_version(template_dir: Path = TEMPLATE_DIR) -> str:
    return json.loads((template_dir / "cookiecutter.json").read_text(encoding="utf-8"))["_template_version"]


def changelog_sections(text: str) -> dict[str, str]:
    """Each release's section of CHANGELOG.md by version, newest first, without its heading."""
    headings = list(RELEASE_HEADING.finditer(text))
    ends = [heading.start() for heading in headings[1:]] + [len(text)]
    return {heading["version"]: text[heading.end() : end].strip() for heading, end in zip(headings, ends, strict=True)}


def release_problems(version: str, changelog: str) -> list[str]:
    """Why `version` cannot be released with this CHANGELOG.md text, one line each."""
    if not SEMANTIC_VERSION.fullmatch(version):
        return [f"_template_version {version!r} in cookiecutter.json: not a semantic version; use e.g. 1.2.0"]
    sections = changelog_sections(changelog)
    newest = next(iter(sections), None)
    if newest != version:
        return [
            f"CHANGELOG.md: the newest release is {newest}, not {version}; "
            f"move the Unreleased entries under '## [{version}] - <date>'"
        ]
    if not sections[version]:
        return [f"CHANGELOG.md: the {version} section is empty; say what the release changes"]
    return []


def commits(count: str) -> str:
    return f"{count} commit" if count == "1" else f"{count} commits"


def branch_problems() -> list[str]:
    """Why the checkout is not a main branch in step with its remote branch, one line each."""
    branch = git("symbolic-ref", "--quiet", "--short", "HEAD").stdout.strip()
    if branch != MAIN_BRANCH:
        where = f"on branch {branch}" if branch else "not on a branch"
        return [f"{where}; releases are tagged from {MAIN_BRANCH}: merge the work, then git switch {MAIN_BRANCH}"]
    upstream = git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}").stdout.strip()
    if not upstream:
        if git("remote").stdout.strip():
            return [f"{MAIN_BRANCH} tracks no remote branch; git branch --set-upstream-to origin/{MAIN_BRANCH}"]
        return []
    remote = git("config", f"branch.{MAIN_BRANCH}.remote").stdout.strip()
    fetched = git("fetch", "--quiet", remote)
    if fetched.returncode:
        return [f"cannot fetch {remote} to compare {MAIN_BRANCH} with it: {' '.join(fetched.stderr.split())}"]
    ahead, behind = git("rev-list", "--left-right", "--count", f"HEAD...{upstream}").stdout.split()
    problems = []
    if behind != "0":
        problems.append(f"{MAIN_BRANCH} is {commits(behind)} behind {upstream}; git pull, then release")
    if ahead != "0":
        problems.append(f"{MAIN_BRANCH} is {commits(ahead)} ahead of {upstream}; merge through {upstream} first")
    return problems


def main() -> int:
    version = template_version()
    changelog = (TEMPLATE_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    problems = release_problems(version, changelog) + branch_problems()
    if git("status", "--porcelain").stdout.strip():
        problems.append("the work tree has uncommitted changes; commit them, so the tag names what was released")
    if git("rev-parse", "--verify", "--quiet", f"refs/tags/v{version}").returncode == 0:
        problems.append(f"v{version} is already tagged; raise _template_version in cookiecutter.json")
    for problem in problems:
        print(f"error: release: {problem}", file=sys.stderr)
    if problems:
        return 1
    notes = changelog_sections(changelog)[version]
    # verbatim: the default cleanup would drop the "### Added" headings as comments
    tag = git("tag", "--annotate", "--cleanup=verbatim", f"v{version}", "--message", f"Release {version}\n\n{notes}")
    if tag.returncode:
        print(f"error: release: git tag failed: {' '.join(tag.stderr.split())}", file=sys.stderr)
        return 1
    print(f"release: tagged v{version}; publish it with git push origin v{version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
