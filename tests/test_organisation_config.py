"""The organisation config (docs/organisation-config.yaml) presets the answers, checked as typed ones.

It is used as documented: named by COOKIECUTTER_CONFIG, with `cookiecutter --no-input` and
`--replay`.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import harness

COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")  # the harness venv's command
DOCUMENTED = harness.TEMPLATE_DIR / "docs" / "organisation-config.yaml"


def organisation_config(tmp_path: Path, **presets) -> Path:
    """The documented config with `presets` on top; replays and clones stay in tmp_path."""
    config = yaml.safe_load(DOCUMENTED.read_text())
    config["default_context"].update(presets)
    config.update(replay_dir=str(tmp_path / "replay"), cookiecutters_dir=str(tmp_path / "cookiecutters"))
    path = tmp_path / "organisation-config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cookiecutter(config: Path, output_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(config)}
    command = [str(COOKIECUTTER), str(harness.TEMPLATE_DIR), "-o", str(output_dir), *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_the_organisation_config_presets_the_answers_and_a_replay_repeats_them(tmp_path):
    config = organisation_config(tmp_path)
    first = cookiecutter(config, tmp_path / "first", "--no-input", "project_name=Card Fraud", "_init_git=no")
    assert first.returncode == 0, first.stderr[-3000:]
    project = tmp_path / "first" / "card-fraud"
    settings = (project / "src" / "card_fraud" / "settings.py").read_text()
    for line in (
        'AWS_REGION = "eu-west-1"',
        'DEV_ACCOUNT_ID = "111111111111"',
        'STAGING_ACCOUNT_ID = "222222222222"',
        'PROD_ACCOUNT_ID = "333333333333"',
        'GIT_PROVIDER = "gitlab"',
    ):
        assert line in settings
    pyproject = (project / "pyproject.toml").read_text()
    assert 'authors = [{ name = "Fraud Analytics Team", email = "fraud-analytics@example.com" }]' in pyproject

    replay = cookiecutter(config, tmp_path / "replayed", "--replay")
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert tree(tmp_path / "replayed" / "card-fraud") == tree(project)


@pytest.mark.parametrize(
    ("presets", "problem"),
    [
        ({"aws_region": "eu-westt-1"}, "aws_region 'eu-westt-1': not an AWS region code; did you mean 'eu-west-1'?"),
        ({"author_email": "fraud-analytics"}, "author_email 'fraud-analytics': not an e-mail address"),
        ({"dev_account_id": 111111111111}, "default_context dev_account_id: YAML reads 111111111111 as int"),
        ({"git_provider": "gitea"}, "default_context git_provider 'gitea': not supported; choose one of github"),
        ({"aws_regoin": "eu-west-1"}, "default_context aws_regoin: not an option of the template; did you mean"),
    ],
    ids=["region", "e-mail", "unquoted-account", "choice", "misspelt-option"],
)
def test_a_bad_preset_is_refused_naming_the_option_and_nothing_is_written(tmp_path, presets, problem):
    (tmp_path / "out").mkdir()
    result = cookiecutter(organisation_config(tmp_path, **presets), tmp_path / "out", "--no-input", "_init_git=no")
    assert result.returncode != 0
    problems = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert any(problem in line for line in problems), result.stderr[-3000:]
    assert problems[-1].endswith("nothing was generated")
    assert list((tmp_path / "out").iterdir()) == []
