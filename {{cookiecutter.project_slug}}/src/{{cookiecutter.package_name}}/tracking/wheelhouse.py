"""MLflow for the Track job: the image has none, so the job takes it from a wheelhouse.

Why a wheelhouse: a job in a VPC without internet access cannot install from PyPI at start,
and a custom image would need building, scanning and a registry per project. The wheelhouse
holds, from uv.lock, the MLflow client (mlflow-skinny) and the SageMaker plugin at the versions
the tests run, with what they need and the image lacks, each wheel the one for the image's
platform (CPython {{ cookiecutter._python_version }}, Linux x86_64) and checked against the lock's hash. `upsert` uploads it
once per lock, beside the code (`publish`); the Track job, finding no mlflow, downloads it and
unpacks the wheels into a folder it puts first on sys.path (a wheel is a zip archive: no pip
needed). README, "Experiment tracking", gives what that adds to the job's start.

The image's own libraries are never in it: the numeric libraries images.toml pins, and boto3
with what it brings, which the job keeps at the image's versions.
"""

import hashlib
import os
import sys
import time
import tomllib
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from .. import settings

# What the Track job imports that the image lacks.
CLIENT = ("mlflow-skinny", "sagemaker-mlflow")
# What the image has besides images.toml's pins: boto3 and its own dependencies.
IMAGE_PROVIDES = (
    "boto3",
    "botocore",
    "jmespath",
    "python-dateutil",
    "s3transfer",
    "six",
    "urllib3",
)
WHEELHOUSE_VARIABLE = "TRACKING_WHEELHOUSE"
UNPACKED = Path("/tmp/tracking-site")
# Downloaded wheels, kept for the next upsert of any checkout, as pip keeps its own.
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlflow-wheelhouse"
# The image's platform, most specific first: CPython's own ABI, the stable ABI, pure Python.
IMAGE_TAGS = (
    f"cp{settings.PYTHON_VERSION.replace('.', '')}-cp{settings.PYTHON_VERSION.replace('.', '')}",
    "abi3",
    "none-any",
)


class WheelhouseError(RuntimeError):
    """The wheelhouse cannot be built or used; the message names the package and the fix."""


@dataclass(frozen=True)
class Wheel:
    name: str
    url: str
    sha256: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[1]


def _fits_the_image(file_name: str) -> bool:
    platform = file_name.removesuffix(".whl").split("-")[-1]
    linux = "manylinux" in platform and platform.endswith("x86_64")
    return platform == "any" or linux


def _rank(file_name: str) -> int:
    return next(
        (rank for rank, tag in enumerate(IMAGE_TAGS) if f"-{tag}" in file_name),
        len(IMAGE_TAGS),
    )


def wheels(lock_path: Path, image_pins: dict[str, str]) -> list[Wheel]:
    """The client's wheels from the lock: its dependencies' closure, less what the image has."""
    locked = tomllib.loads(lock_path.read_text())["package"]
    packages = {package["name"]: package for package in locked}
    provided = set(IMAGE_PROVIDES) | set(image_pins)
    needed, pending = set(), list(CLIENT)
    while pending:
        name = pending.pop()
        if name in needed or name in provided:
            continue
        needed.add(name)
        pending += [dependency["name"] for dependency in packages[name].get("dependencies", [])]
    chosen = []
    for name in sorted(needed):
        candidates = sorted(
            (w for w in packages[name].get("wheels", []) if _fits_the_image(w["url"])),
            key=lambda w: _rank(w["url"].rsplit("/", 1)[1]),
        )
        if not candidates or _rank(candidates[0]["url"].rsplit("/", 1)[1]) == len(IMAGE_TAGS):
            raise WheelhouseError(
                f"{name} {packages[name]['version']} has no wheel for the image's platform in "
                f"{lock_path.name}; pin a version that has one, then make lock"
            )
        best = candidates[0]
        chosen.append(Wheel(name, best["url"], best["hash"].removeprefix("sha256:")))
    return chosen


def project_wheels() -> list[Wheel]:
    """The wheelhouse of this project's lock and image."""
    pins = tomllib.loads(settings.IMAGE_RECORD.read_text())["image"]["pins"]
    return wheels(settings.LOCK_FILE, pins)


def digest(chosen: list[Wheel]) -> str:
    """Names the wheelhouse by what it holds: a new lock, a new wheelhouse."""
    return hashlib.sha256("\n".join(w.sha256 for w in chosen).encode()).hexdigest()[:32]


def location(chosen: list[Wheel], artifact_root: str) -> str:
    """s3://<bucket>/<use-case>/tracking-wheelhouse/<digest>/."""
    return f"{artifact_root}/tracking-wheelhouse/{digest(chosen)}/"


def download(wheel: Wheel, cache_dir: Path = CACHE_DIR) -> bytes:
    """The wheel's bytes, refused unless they match the lock's hash: from the cache, else from
    the package index (and kept in the cache)."""
    cached = cache_dir / wheel.file_name
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == wheel.sha256:
        return cached.read_bytes()
    try:
        with urllib.request.urlopen(wheel.url, timeout=60) as response:
            data = response.read()
    except OSError as error:
        raise WheelhouseError(
            f"{wheel.file_name}: cannot download it from {wheel.url} ({error}); "
            "upsert needs the package index once per lock"
        ) from None
    if hashlib.sha256(data).hexdigest() != wheel.sha256:
        raise WheelhouseError(f"{wheel.file_name}: its hash is not the lock's; download it again")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(cached.name + ".partial")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


def publish(chosen: list[Wheel], uri: str, s3_client, owner: str) -> bool:
    """Upload the wheels unless this wheelhouse is there; True when uploaded."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    existing = s3_client.list_objects_v2(
        Bucket=bucket, Prefix=prefix, MaxKeys=len(chosen) + 1, ExpectedBucketOwner=owner
    )
    if existing.get("KeyCount", 0) == len(chosen):
        return False
    for wheel in chosen:
        s3_client.put_object(
            Bucket=bucket,
            Key=prefix + wheel.file_name,
            Body=download(wheel),
            ExpectedBucketOwner=owner,
        )
    return True


def make_importable(module: str, uri: str | None, s3_client=None, target: Path = UNPACKED) -> float:
    """Make `module` importable: as installed, else from the wheelhouse at `uri`, unpacked into
    `target`; the seconds that took."""
    started = time.monotonic()
    if find_spec(module) is not None:
        return 0.0
    if not uri:
        raise WheelhouseError(
            f"{module} is not installed and {WHEELHOUSE_VARIABLE} names no wheelhouse"
        )
    if s3_client is None:
        import boto3  # the image has it

        s3_client = boto3.client("s3")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    target.mkdir(parents=True, exist_ok=True)
    for key in keys:
        archive = target.with_name(key.rsplit("/", 1)[1])
        s3_client.download_file(bucket, key, str(archive))
        with zipfile.ZipFile(archive) as wheel:
            wheel.extractall(target)
        archive.unlink()
    sys.path.insert(0, str(target))
    if find_spec(module) is None:
        raise WheelhouseError(f"the wheelhouse {uri} holds no {module}; run upsert again")
    return time.monotonic() - started
