"""Bad answers are refused before anything is written: one line per problem, nothing on disk."""

import pytest
from cookiecutter.exceptions import FailedHookException

import harness
from hooks import pre_gen_project

NAMING = pre_gen_project.load_naming(harness.TEMPLATE_DIR)
LONGEST_SLUG = NAMING.longest_use_case("111111111111", "ap-southeast-1")

# (answers, the message that must name the problem and the fix)
INVALID = {
    "slug-uppercase": ({"project_slug": "Churn"}, "project_slug 'Churn': use lowercase letters"),
    "slug-underscore": ({"project_slug": "churn_model"}, "project_slug 'churn_model': use lowercase"),
    "slug-leading-digit": ({"project_slug": "1churn"}, "starting with a letter"),
    "slug-double-hyphen": ({"project_slug": "churn--model"}, "single hyphens"),
    "slug-trailing-hyphen": ({"project_slug": "churn-"}, "project_slug 'churn-'"),
    "slug-too-long-for-aws": (
        {"project_slug": "a" * (LONGEST_SLUG + 1), "aws_region": "ap-southeast-1"},
        f"allow at most {LONGEST_SLUG} in ap-southeast-1; choose a shorter project_slug",
    ),
    "package-keyword": ({"package_name": "class"}, "package_name 'class': is a Python keyword"),
    "package-stdlib": ({"package_name": "json"}, "shadows the standard-library module"),
    "package-dependency": ({"package_name": "pandas"}, "shadows a dependency"),
    "package-hyphen": ({"package_name": "churn-model"}, "package_name 'churn-model': use lowercase"),
    "package-leading-digit": ({"package_name": "1churn"}, "package_name '1churn'"),
    "empty-project-name": ({"project_name": " ", "project_slug": "churn"}, "project_name: must not be empty"),
    "multiline-author": ({"author_name": "A\nB"}, "author_name 'A\\nB': must be one line"),
    "email-without-at": ({"author_email": "team.example.com"}, "author_email 'team.example.com': not an e-mail"),
    "email-without-domain": ({"author_email": "team@localhost"}, "not an e-mail address"),
    "email-trailing-comma": ({"author_email": "team@example.com,"}, "author_email 'team@example.com,'"),
    "email-angle-bracket": ({"author_email": "a<b@example.com"}, "author_email 'a<b@example.com'"),
    "region-typo": ({"aws_region": "us-east-9"}, "aws_region 'us-east-9': not an AWS region code; did you mean"),
    "region-name": ({"aws_region": "Ireland"}, "aws_region 'Ireland': not an AWS region code"),
    "dev-account-short": ({"dev_account_id": "12345"}, "dev_account_id '12345': an AWS account id is 12 digits"),
    "staging-account-letters": ({"staging_account_id": "12345678901a"}, "staging_account_id '12345678901a'"),
    "prod-account-long": ({"prod_account_id": "1234567890123"}, "prod_account_id '1234567890123'"),
    # cookiecutter itself refuses unknown choices on the command line; replay files reach the hook.
    "problem-type-unknown": ({"problem_type": "multiclass"}, "problem_type 'multiclass': not supported"),
    "framework-unknown": ({"model_framework": "pytorch"}, "model_framework 'pytorch': not supported; choose one"),
    "inference-unknown": (
        {"inference": "streaming"},
        "inference 'streaming': not supported; choose one of realtime, batch, both",
    ),
    "init-git-other": ({"_init_git": "maybe"}, "_init_git 'maybe': use 'yes' or 'no'"),
    "sagemaker-projects-other": ({"_sagemaker_projects": "1"}, "_sagemaker_projects '1': use 'yes' or 'no'"),
}


@pytest.mark.parametrize(("answers", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_answers_are_refused_and_nothing_is_left(tmp_path, capfd, answers, message):
    with pytest.raises(FailedHookException):
        harness.render_replay(tmp_path, **answers)
    errors = capfd.readouterr().err
    problem_lines = [line for line in errors.splitlines() if line.startswith("error: ")]
    assert any(message in line for line in problem_lines), errors
    assert problem_lines[-1].endswith("nothing was generated")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["problem_type", "model_framework", "inference"])
def test_unknown_choice_on_the_command_line_is_refused(tmp_path, option):
    with pytest.raises(ValueError, match="choices are"):
        harness.render(tmp_path, **{option: "unknown"})
    assert list(tmp_path.iterdir()) == []


def test_every_problem_gets_its_own_line(tmp_path, capfd):
    with pytest.raises(FailedHookException):
        harness.render(
            tmp_path,
            project_slug="Bad_Slug",
            package_name="ok",
            author_email="x",
            aws_region="mars-1",
            prod_account_id="1",
        )
    problem_lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(problem_lines) == 5  # four problems and the summary
    assert list(tmp_path.iterdir()) == []


def test_the_longest_allowed_slug_renders(render):
    slug = "a" * LONGEST_SLUG
    project = render(project_slug=slug, aws_region="ap-southeast-1", package_name="churn")
    assert project.name == slug


def test_existing_project_is_never_overwritten(tmp_path):
    project = harness.render(tmp_path)
    (project / "notes.txt").write_text("keep me")
    with pytest.raises(Exception, match="already exists"):
        harness.render(tmp_path)
    assert (project / "notes.txt").read_text() == "keep me"
