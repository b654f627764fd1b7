"""The checks every command line gives argparse as `type=`: a bad option is one line, exit 2.

Each runs as the options are parsed, so a command refuses before any work or AWS call: an
output that cannot be written is found before the steps run, not after. argparse applies them
to string defaults too, so defaults are given as strings.
"""

import argparse
import os
import tempfile
from pathlib import Path


def positive_whole_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return number


def positive_number(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number greater than 0, got {text!r}")
    return number


def readable_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"no readable file {text}")
    return path


def _creatable(path: Path) -> bool:
    """Whether `path` is a folder or can be made one, tried by making a folder where it would be.

    A trial rather than os.access: root passes os.access everywhere, also in /proc or on a
    read-only file system, where making anything fails.
    """
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return False
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".write-check-"))
    except OSError:
        return False
    return True


def output_file(text: str) -> Path:
    """A file the command may write, creating its missing folders."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if (path.exists() and not os.access(path, os.W_OK)) or not _creatable(path.parent):
        raise argparse.ArgumentTypeError(f"cannot write {text}; give a path in a writable folder")
    return path


def output_folder(text: str) -> Path:
    """A folder the command may write into, creating it if missing."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder")
    if not _creatable(path):
        raise argparse.ArgumentTypeError(f"cannot write into {text}; give a writable folder")
    return path


def lineage_entry(text: str) -> tuple[str, str]:
    """One `--lineage NAME=VALUE`: where a model's code, data or execution come from."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return name, value


def add_lineage_option(parser: argparse.ArgumentParser, purpose: str) -> None:
    """`--lineage NAME=VALUE`, repeated: the pipeline passes Evaluate and Track the same."""
    parser.add_argument(
        "--lineage",
        type=lineage_entry,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"where the model's code, data and execution come from, {purpose}",
    )
