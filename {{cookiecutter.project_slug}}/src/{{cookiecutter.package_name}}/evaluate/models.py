"""Loading a model as a job receives it: SageMaker's model.tar.gz, or an unpacked folder."""

import tarfile
from pathlib import Path

from ..infer.handler import InvalidModelError, Model, model_fn

# What a SageMaker training job leaves in its model output: the bundle, archived.
MODEL_ARCHIVE = "model.tar.gz"


def load_model(model_dir: Path, scratch: Path) -> Model:
    """Load the model bundle, unpacking model.tar.gz into `scratch` first when there is one."""
    archive = model_dir / MODEL_ARCHIVE
    if not archive.exists():
        return model_fn(str(model_dir))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
    except tarfile.TarError:  # its message spans several lines and omits the file
        raise InvalidModelError(
            f"{archive}: not a readable model archive; copy the training job's output again"
        ) from None
    try:
        return model_fn(str(scratch))
    except (FileNotFoundError, InvalidModelError) as error:  # name the archive, not the scratch
        raise InvalidModelError(str(error).replace(str(scratch), str(archive))) from None


def bundle_dir(model_dir: Path, scratch: Path) -> Path:
    """Where load_model(model_dir, scratch) found the bundle's files: unpacked, or as given."""
    return scratch if (model_dir / MODEL_ARCHIVE).exists() else model_dir
