"""Pre-push check: the remote branch a push writes is named feature/, fix/, release/ or hotfix/.

The branch names follow CONTRIBUTING.md. It is the remote name that counts: `git push origin
feature/x:wip` would create `wip`. main and dev pass: commits to them are refused at commit time,
and the git host's branch rules protect them remotely. Tags pass; pre-commit runs no hooks for
deletions.
"""

import os
import re
import subprocess
import sys

ALLOWED = re.compile(r"(main|dev|(feature|fix|release|hotfix)/[A-Za-z0-9][A-Za-z0-9._/-]*)")
BRANCH_REF = "refs/heads/"


def checked_out_branch() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip()


def refusal(local: str, branch: str, remote: str) -> str:
    rule = "is not named feature/, fix/, release/ or hotfix/<name>"
    if local == branch:
        return f"branch {branch!r} {rule}; rename it: git branch -m feature/<name>"
    return (
        f"remote branch {branch!r} {rule}; "
        f"push to such a name: git push {remote} {local}:feature/<name>"
    )


def main() -> int:
    # pre-commit names the refs of the push; outside a push, check the checked-out branch.
    remote_ref = os.environ.get("PRE_COMMIT_REMOTE_BRANCH") or BRANCH_REF + checked_out_branch()
    if not remote_ref.startswith(BRANCH_REF):
        return 0  # a tag: branch names do not apply
    branch = remote_ref.removeprefix(BRANCH_REF)
    if ALLOWED.fullmatch(branch):
        return 0
    local = os.environ.get("PRE_COMMIT_LOCAL_BRANCH", "").removeprefix(BRANCH_REF) or branch
    remote = os.environ.get("PRE_COMMIT_REMOTE_NAME", "origin")
    print(refusal(local, branch, remote), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
