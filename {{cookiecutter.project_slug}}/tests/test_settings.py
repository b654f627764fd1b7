import subprocess
from pathlib import Path

import pytest
from conftest import git_repository

from {{ cookiecutter.package_name }} import naming, settings


def load(**environ):
    return settings.load({"BRANCH_NAME": "main", **environ})


def test_main_gets_the_plain_names():
    names = load().names
    assert names["pipeline_name"] == settings.PROJECT_SLUG
    assert names["model_package_group"] == settings.PROJECT_SLUG


def test_dev_gets_the_dev_suffix():
    assert load(BRANCH_NAME="dev").names["pipeline_name"] == f"{settings.PROJECT_SLUG}-dev"


def test_long_feature_branches_get_valid_distinct_short_names():
    first = load(BRANCH_NAME="feature/" + "a-very-long-branch-name-" * 5 + "one").names
    second = load(BRANCH_NAME="feature/" + "a-very-long-branch-name-" * 5 + "two").names
    assert first["pipeline_name"] != second["pipeline_name"]
    suffix = first["pipeline_name"].removeprefix(settings.PROJECT_SLUG)
    assert suffix.startswith("-a-very-")
    assert len(suffix) <= naming.LONGEST_BRANCH_SUFFIX
    derived = naming.derive_names(settings.PROJECT_SLUG, "feature/x" * 30, "1" * 12, "us-east-1")
    assert all(name.problem() is None for name in derived.values())


def test_branch_names_are_distinct_from_main_and_dev():
    pipelines = {load(BRANCH_NAME=b).names["pipeline_name"] for b in ("main", "dev", "feature/dev")}
    assert len(pipelines) == 3


def test_environment_comes_before_rendered_answers():
    loaded = load(
        SAGEMAKER_PROJECT_NAME="studio-project",
        SAGEMAKER_PROJECT_ID="p-abcdef123456",
        AWS_REGION="eu-west-1",
        DEV_ACCOUNT_ID="222222222222",
        PROD_ACCOUNT_ID="333333333333",
    )
    assert loaded.use_case == "studio-project-p-abcdef123456"
    assert loaded.sagemaker_project_id == "p-abcdef123456"
    assert loaded.region == "eu-west-1"
    assert loaded.names["artifact_bucket"] == (
        "studio-project-p-abcdef123456-ml-222222222222-eu-west-1"
    )
    assert loaded.staging_account_id == settings.STAGING_ACCOUNT_ID
    assert loaded.prod_account_id == "333333333333"


def test_unknown_region_is_refused_naming_its_variable():
    with pytest.raises(settings.SettingsError, match=r"from AWS_REGION.*set AWS_REGION"):
        load(AWS_REGION="mars-north-1")
    with pytest.raises(settings.SettingsError, match=r"from AWS_DEFAULT_REGION.*set AWS_DEFAULT"):
        load(AWS_DEFAULT_REGION="mars-1")


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("0.85", 0.85), (1, 1.0)])
def test_quality_threshold_accepts_zero_to_one(value, expected):
    assert settings.quality_threshold(value) == expected


@pytest.mark.parametrize("value", ["-1", "1.01", "nan", "inf", "high", ""])
def test_quality_threshold_refuses_the_rest(value):
    with pytest.raises(settings.SettingsError, match="from 0 to 1"):
        settings.quality_threshold(value)


def test_too_long_project_name_is_refused():
    with pytest.raises(settings.SettingsError, match=r"SageMaker project name .* over AWS's limit"):
        load(SAGEMAKER_PROJECT_NAME="x" * 33, SAGEMAKER_PROJECT_ID="p-abcdef123456")


@pytest.mark.parametrize("variable", ["SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID"])
def test_a_project_name_without_its_id_is_refused(variable):
    with pytest.raises(settings.SettingsError, match=r"set both .* or neither"):
        load(**{variable: "p-abcdef123456"})


@pytest.mark.parametrize("region", sorted(naming.AWS_REGIONS))
def test_every_name_fits_at_the_longest_project_name_and_id(region):
    name, project_id = "A" + "b-c" * 10 + "d", "p" * naming.PROJECT_ID.max_length
    assert len(name) == naming.PROJECT_NAME.max_length
    for branch in ("main", "dev", "feature/" + "x" * 40):
        # load() refuses any derived name that breaks its rule; the capture bucket is not one.
        loaded = load(
            SAGEMAKER_PROJECT_NAME=name,
            SAGEMAKER_PROJECT_ID=project_id,
            AWS_REGION=region,
            PROD_ACCOUNT_ID="333333333333",
            BRANCH_NAME=branch,
        )
        capture_bucket = naming.Name(loaded.capture_bucket("prod"), naming.S3_BUCKET)
        assert capture_bucket.problem() is None
    assert loaded.use_case.startswith("ab-c") and loaded.use_case.endswith(f"-{project_id}")


def test_project_names_carry_the_name_and_id_and_stay_distinct():
    first = load(SAGEMAKER_PROJECT_NAME="Churn", SAGEMAKER_PROJECT_ID="p-aaaaaaaaaaaa")
    again = load(SAGEMAKER_PROJECT_NAME="Churn", SAGEMAKER_PROJECT_ID="p-aaaaaaaaaaaa")
    recreated = load(SAGEMAKER_PROJECT_NAME="Churn", SAGEMAKER_PROJECT_ID="p-bbbbbbbbbbbb")
    assert first.names == again.names
    assert first.use_case == "churn-p-aaaaaaaaaaaa"
    assert all(first.use_case in value for value in first.names.values())
    assert set(first.names.values()).isdisjoint(recreated.names.values())


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """The package's checkout moved to tmp_path/checkout, the command run from a repository on
    main beside it (tmp_path/other); git looks no higher than tmp_path."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("BRANCH_NAME", raising=False)
    monkeypatch.chdir(git_repository(tmp_path / "other", "main"))
    path = tmp_path / "checkout"
    path.mkdir()
    monkeypatch.setattr(settings, "IN_CHECKOUT", True)
    monkeypatch.setattr(settings, "PROJECT_ROOT", path)
    return path


def test_the_branch_is_the_checkouts_not_the_current_folders(checkout):
    git_repository(checkout, "dev")
    assert settings.load().branch == "dev"


def test_a_checkout_outside_git_is_never_main(checkout):
    assert settings.load().branch == settings.UNKNOWN_BRANCH


def test_a_checkout_in_a_folder_its_repository_ignores_is_never_main(
    checkout, tmp_path, monkeypatch
):
    enclosing = git_repository(tmp_path / "enclosing", "main")
    (enclosing / ".gitignore").write_text("build/\n")
    (enclosing / "build" / "demo").mkdir(parents=True)
    monkeypatch.setattr(settings, "PROJECT_ROOT", enclosing / "build" / "demo")
    assert settings.load().branch == settings.UNKNOWN_BRANCH


def test_a_detached_checkout_is_never_main(checkout):
    git_repository(checkout, "main")
    subprocess.run(["git", "-C", str(checkout), "checkout", "--quiet", "--detach"], check=True)
    assert settings.load().branch == settings.UNKNOWN_BRANCH


def test_an_installed_copy_never_takes_the_current_folders_branch(checkout, monkeypatch):
    # Without a checkout, PROJECT_ROOT falls back to the current folder: a repository on main.
    monkeypatch.setattr(settings, "IN_CHECKOUT", False)
    monkeypatch.setattr(settings, "PROJECT_ROOT", Path.cwd())
    assert settings.load().branch == settings.UNKNOWN_BRANCH
    assert settings.load({"BRANCH_NAME": "dev"}).branch == "dev"


def test_s3_uris_follow_the_layout():
    loaded = load(BRANCH_NAME="dev")
    uri = loaded.s3_uri("run-1", "train", "model")
    bucket = loaded.names["artifact_bucket"]
    assert uri == f"s3://{bucket}/{settings.PROJECT_SLUG}/dev/run-1/train/model"


def test_pipeline_locations_follow_the_layout():
    loaded = load(BRANCH_NAME="feature/Add-Drift")
    bucket = loaded.names["artifact_bucket"]
    segment = naming.branch_segment("feature/Add-Drift")
    assert loaded.branch_prefix == f"{settings.PROJECT_SLUG}/{segment}"
    assert loaded.branch_root == f"s3://{bucket}/{loaded.branch_prefix}"
    assert loaded.input_data_uri == f"s3://{bucket}/{settings.PROJECT_SLUG}/input-data/"


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_partition_follows_the_region(region, partition):
    assert load(AWS_REGION=region).partition == partition


def test_artifact_bucket_can_be_named_by_the_environment():
    assert load(ARTIFACT_BUCKET="sagemaker-project-p-1").names["artifact_bucket"] == (
        "sagemaker-project-p-1"
    )
    with pytest.raises(settings.SettingsError, match="S3 bucket"):
        load(ARTIFACT_BUCKET="Not_A_Bucket")


def test_tags_link_a_sagemaker_project_when_there_is_one():
    assert load().tags == {"use-case": settings.PROJECT_SLUG, "branch": "main"}
    tags = load(SAGEMAKER_PROJECT_NAME="Studio-Churn", SAGEMAKER_PROJECT_ID="p-1").tags
    assert tags["sagemaker:project-name"] == "Studio-Churn"
    assert tags["sagemaker:project-id"] == "p-1"
    assert load(BRANCH_NAME="fix/issue#12").tags["branch"] == "fix/issue-12"
