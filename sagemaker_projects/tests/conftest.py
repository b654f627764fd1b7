"""sagemaker_projects/ tests that need AWS's libraries (boto3, moto, cfn-lint).

They run in the generated projects' shared environment, started by the harness
(tests/test_sagemaker_projects.py), which builds the seeds first and names them in SEED_DIRS:
{"<git provider>": "<folder make seed wrote>", ...}.
"""

import importlib
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest
from cfnlint.decode import decode

TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TEMPLATE_ROOT))
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

if "SEED_DIRS" not in os.environ:
    raise pytest.UsageError("run these through the harness: pytest tests/test_sagemaker_projects.py")
SEED_DIRS = {provider: Path(folder) for provider, folder in json.loads(os.environ["SEED_DIRS"]).items()}


def load_template(path: Path) -> dict:
    """A CloudFormation template as CloudFormation reads it (cfn-lint's decoder)."""
    template, problems = decode(str(path))
    assert not problems, problems
    return template


@pytest.fixture(params=sorted(SEED_DIRS))
def seed(request) -> Path:
    """The folder `make seed` built, for each git provider."""
    return SEED_DIRS[request.param]


@pytest.fixture(scope="session")
def extracted(tmp_path_factory):
    """A factory: a seed's zip (seed.zip or launcher.zip) unpacked once, as CodeBuild or Lambda would."""
    cache = {}

    def extract(provider: str, archive: str) -> Path:
        if (provider, archive) not in cache:
            target = tmp_path_factory.mktemp(f"{provider}-{archive.removesuffix('.zip')}")
            with zipfile.ZipFile(SEED_DIRS[provider] / archive) as opened:
                opened.extractall(target)
            cache[provider, archive] = target
        return cache[provider, archive]

    return extract


@pytest.fixture
def launcher(extracted, monkeypatch):
    """The launcher as Lambda runs it: from launcher.zip alone, with the seed's package beside it."""
    code = extracted("github", "launcher.zip")
    [package] = [path.name for path in code.iterdir() if path.is_dir()]
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # the unpacked zip stays as Lambda has it
    monkeypatch.setenv("PACKAGE", package)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    module = importlib.import_module("launcher")
    assert Path(module.__file__).parent == code
    monkeypatch.setattr(module, "POLL_SECONDS", 0)
    return module
