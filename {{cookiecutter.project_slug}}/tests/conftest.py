"""Shared fixtures: the sample data, its splits and one trained model for the whole session."""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data.core import read_csv_files, split
from {{ cookiecutter.package_name }}.train.core import Hyperparameters, fit, save

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return PROJECT_ROOT / settings.SAMPLE_DATA


@pytest.fixture(scope="session")
def sample_frame(sample_path):
    return read_csv_files(sample_path)


@pytest.fixture(scope="session")
def splits(sample_frame):
    return split(sample_frame)


@pytest.fixture(scope="session")
def hyperparameters() -> Hyperparameters:
    return Hyperparameters(n_estimators=50)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, splits, hyperparameters) -> Path:
    directory = tmp_path_factory.mktemp("model")
    save(fit(splits["train"], hyperparameters), directory, hyperparameters)
    return directory
