"""In a git-initialised generated project, the pre-commit hooks really guard the repository."""

import json
import os
import subprocess
import sys

import pytest

import harness

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "PRE_COMMIT_HOME": str(harness.BUILD_DIR / "pre-commit"),
}


def run(project, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=project, capture_output=True, text=True, env=ENV)


def git(project, *args: str) -> subprocess.CompletedProcess:
    return run(project, "git", *args)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = harness.render(tmp_path_factory.mktemp("hooks"), _init_git="yes")
    installed = run(project, sys.executable, "-m", "pre_commit", "install", "--install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert git(project, "switch", "--quiet", "-c", "feature/first").returncode == 0
    for ref in (["branch", "my-work"], ["branch", "feature/ABC-123-login"], ["tag", "v0.1.0"]):
        assert git(project, *ref).returncode == 0  # refs for the push tests
    return project


def test_all_hooks_pass_on_the_generated_files(project):
    result = run(project, sys.executable, "-m", "pre_commit", "run", "--all-files")
    assert result.returncode == 0, result.stdout
    assert git(project, "status", "--porcelain").stdout == ""


def test_notebook_outputs_are_stripped_on_commit(project):
    git(project, "switch", "--quiet", "feature/first")
    notebook = json.loads((project / "notebooks" / "exploration.ipynb").read_text())
    code_cell = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code_cell["execution_count"] = 3
    code_cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["secret result\n"]}]
    path = project / "notebooks" / "with_outputs.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    git(project, "add", str(path))
    first = git(project, "commit", "-m", "Add a notebook with outputs")
    assert first.returncode != 0  # the hook rewrote the file: review and add it again
    assert "secret result" not in path.read_text()
    git(project, "add", str(path))
    second = git(project, "commit", "-m", "Add a notebook")
    assert second.returncode == 0, second.stdout + second.stderr
    committed = json.loads(git(project, "show", "HEAD:notebooks/with_outputs.ipynb").stdout)
    for cell in committed["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("branch", ["main", "dev"])
def test_commit_on_protected_branch_is_refused(project, branch):
    git(project, "switch", "--quiet", branch)
    head = git(project, "rev-parse", "HEAD").stdout
    (project / "direct.txt").write_text("a direct change\n")
    git(project, "add", "direct.txt")
    result = git(project, "commit", "-m", "Direct commit")
    assert result.returncode != 0
    assert "refuse commits on main and dev" in result.stdout + result.stderr
    assert git(project, "rev-parse", "HEAD").stdout == head
    git(project, "reset", "--quiet", "--hard")  # drops the staged file
    git(project, "switch", "--quiet", "feature/first")


@pytest.fixture
def origin(project, tmp_path):
    """A new empty remote: pre-commit runs pre-push hooks only for commits the remote lacks."""
    remote = tmp_path / "remote.git"
    assert git(tmp_path, "init", "--quiet", "--bare", str(remote)).returncode == 0
    git(project, "remote", "add", "origin", str(remote))
    yield remote
    git(project, "remote", "remove", "origin")


# (refspec pushed to origin, the refusal's line: the branch and the fix)
NAMING_RULE = "is not named feature/, fix/, release/ or hotfix/<name>"
REFUSED_PUSHES = {
    "badly-named-branch": ("my-work", f"branch 'my-work' {NAMING_RULE}; rename it: git branch -m feature/<name>"),
    "badly-named-remote-branch": (
        "feature/first:wip",
        f"remote branch 'wip' {NAMING_RULE}; push to such a name: git push origin feature/first:feature/<name>",
    ),
}
ACCEPTED_PUSHES = ["feature/first", "feature/ABC-123-login", "dev", "feature/first:feature/renamed", "v0.1.0"]


def remote_refs(project) -> str:
    return git(project, "ls-remote", "origin").stdout


@pytest.mark.parametrize(("refspec", "message"), REFUSED_PUSHES.values(), ids=REFUSED_PUSHES.keys())
def test_push_to_a_badly_named_branch_is_refused(project, origin, refspec, message):
    refused = git(project, "push", "origin", refspec)
    assert refused.returncode != 0
    assert message in (refused.stdout + refused.stderr).splitlines(), refused.stdout + refused.stderr
    assert remote_refs(project) == ""


@pytest.mark.parametrize("refspec", ACCEPTED_PUSHES)
def test_push_to_a_conventional_branch_or_of_a_tag_is_accepted(project, origin, refspec):
    accepted = git(project, "push", "origin", refspec)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert f"/{refspec.rpartition(':')[2]}\n" in remote_refs(project)


def test_deleting_a_badly_named_remote_branch_is_accepted(project, origin):
    assert git(project, "push", "--no-verify", "origin", "feature/first:wip").returncode == 0
    deleted = git(project, "push", "origin", ":wip")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert remote_refs(project) == ""
