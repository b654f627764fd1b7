"""Pin uv.lock to the image's versions: `make lock` runs this (it needs PyPI).

    python scripts/lock.py --uv <uv> --python <python3.12> [uv lock options, e.g. --upgrade]

It writes images.toml's pins into pyproject.toml's `[tool.uv] constraint-dependencies`, then
runs `uv lock`, which keeps every locked version that still fits. Runs without the project
installed: the standard library only.
"""

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = re.compile(r"^constraint-dependencies = \[\n.*?^\]\n", re.MULTILINE | re.DOTALL)


def image_constraints(record: str) -> list[str]:
    """The record's pins as requirements, in name order: ["numpy==2.1.0", ...]."""
    pins = tomllib.loads(record)["image"]["pins"]
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def with_constraints(pyproject: str, constraints: list[str]) -> str:
    """pyproject.toml's text with its constraint-dependencies list replaced by `constraints`."""
    if not CONSTRAINTS.search(pyproject):
        raise SystemExit(
            "error: pyproject.toml has no [tool.uv] constraint-dependencies list; "
            "add one (`constraint-dependencies = [` and `]` on lines of their own)"
        )
    listed = "".join(f'    "{constraint}",\n' for constraint in constraints)
    replacement = f"constraint-dependencies = [\n{listed}]\n"
    return CONSTRAINTS.sub(lambda _: replacement, pyproject, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default="uv", help="the uv command (default: uv on PATH)")
    parser.add_argument("--python", required=True, help="the interpreter uv resolves for")
    arguments, lock_options = parser.parse_known_args(argv)
    pyproject = PROJECT_ROOT / "pyproject.toml"
    constraints = image_constraints((PROJECT_ROOT / "images.toml").read_text(encoding="utf-8"))
    pyproject.write_text(with_constraints(pyproject.read_text(encoding="utf-8"), constraints))
    command = [arguments.uv, "lock", "--python", arguments.python, *lock_options]
    return subprocess.run(command, cwd=PROJECT_ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
