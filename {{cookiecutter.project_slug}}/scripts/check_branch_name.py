"""Pre-push check: work branches are named feature/, fix/, release/ or hotfix/ (CONTRIBUTING.md).

main and dev pass: commits to them are refused at commit time, and the git host's branch rules
protect them remotely.
"""

import os
import re
import subprocess
import sys

ALLOWED = re.compile(r"(main|dev|(feature|fix|release|hotfix)/[A-Za-z0-9][A-Za-z0-9._/-]*)")


def branch_being_pushed() -> str:
    # pre-commit names the local branch of the push; outside a push, use the checked-out one.
    branch = os.environ.get("PRE_COMMIT_LOCAL_BRANCH", "").removeprefix("refs/heads/")
    if branch:
        return branch
    result = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip()


def main() -> int:
    branch = branch_being_pushed()
    if ALLOWED.fullmatch(branch):
        return 0
    print(
        f"branch {branch!r} is not named feature/, fix/, release/ or hotfix/<name>; "
        "rename it: git branch -m feature/<name>",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
