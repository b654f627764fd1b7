"""The code SageMaker runs: this package itself, named by its content.

Processing and training jobs mount the package's files from an S3 prefix and run
`python3 -m <package>.<step>`, the same entry points the local runner and the tests call.
Endpoints need one archive instead: `sourcedir.tar.gz` holds the package plus a minimal
`setup.py`, so the serving container can install it and import `<package>.infer.handler`.

Both live under `<branch root>/code/<sha256 of the files>/`. The definition names the code by
content, so rebuilding it gives the same URIs, and `publish` uploads nothing when unchanged.
Standard library only: `definition` computes the URIs without any AWS call.
"""

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGE = PACKAGE_DIR.name
ARCHIVE_NAME = "sourcedir.tar.gz"
# Lets the serving image pip-install the archive; version and dependencies come from the image.
SETUP_PY = (
    "from setuptools import find_packages, setup\n\n"
    f'setup(name="{PACKAGE}", packages=find_packages())\n'
)


@dataclass(frozen=True)
class CodeBundle:
    """The package's files as (path relative to the source root, content), sorted by path."""

    files: tuple[tuple[str, bytes], ...]

    @property
    def digest(self) -> str:
        content = hashlib.sha256()
        for path, data in self.files:
            content.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
        return content.hexdigest()

    def location(self, branch_root: str) -> str:
        """The S3 prefix of this version of the code."""
        return f"{branch_root}/code/{self.digest}/"

    def files_uri(self, branch_root: str) -> str:
        """The prefix jobs mount: `<it>/<package>/...`, importable with it on PYTHONPATH."""
        return self.location(branch_root) + "src/"

    def archive_uri(self, branch_root: str) -> str:
        return self.location(branch_root) + ARCHIVE_NAME

    def archive(self) -> bytes:
        """A reproducible tar.gz of the files and setup.py: fixed order, times and owners."""
        buffer = io.BytesIO()
        with (
            gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for path, data in (("setup.py", SETUP_PY.encode()), *self.files):
                info = tarfile.TarInfo(path)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()


def files_uri_of(archive_uri: str) -> str:
    """The prefix of the files beside an archive: where jobs mount a registered model's code."""
    if not archive_uri.endswith("/" + ARCHIVE_NAME):
        raise ValueError(f"{archive_uri!r} is not a code archive's URI (…/{ARCHIVE_NAME})")
    return archive_uri.removesuffix(ARCHIVE_NAME) + "src/"


def collect(package_dir: Path = PACKAGE_DIR) -> CodeBundle:
    """Read the package from disk (an editable checkout or an installed copy alike).

    Every file but caches and hidden files (.DS_Store, .env): package data ships too.
    """
    root = package_dir.parent
    files = sorted(
        (path.relative_to(root).as_posix(), path.read_bytes())
        for path in package_dir.rglob("*")
        if path.is_file()
        and path.suffix != ".pyc"
        and not any(
            part == "__pycache__" or part.startswith(".") for part in path.relative_to(root).parts
        )
    )
    return CodeBundle(tuple(files))


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def publish(bundle: CodeBundle, branch_root: str, s3_client, owner: str) -> bool:
    """Upload the files and the archive unless this version is there; True when uploaded.

    Every request names the bucket's expected owner: the bucket name is predictable, so a
    bucket of that name in another account must never receive the code. The archive goes
    last, so its presence means the whole version is complete.
    """
    bucket, archive_key = _split(bundle.archive_uri(branch_root))
    existing = s3_client.list_objects_v2(
        Bucket=bucket, Prefix=archive_key, MaxKeys=1, ExpectedBucketOwner=owner
    )
    if existing.get("KeyCount"):
        return False
    _, files_key = _split(bundle.files_uri(branch_root))
    uploads = [(files_key + path, data) for path, data in bundle.files]
    for key, data in [*uploads, (archive_key, bundle.archive())]:
        s3_client.put_object(Bucket=bucket, Key=key, Body=data, ExpectedBucketOwner=owner)
    return True
