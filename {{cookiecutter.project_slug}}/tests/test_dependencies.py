"""Every library the package imports is one it declares: a job or endpoint installs only those."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = PROJECT_ROOT / "src" / "{{ cookiecutter.package_name }}"


def imported_modules(paths) -> set[str]:
    """The top-level third-party modules that the files import."""
    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names)


def distributions(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", requirement)[0].lower() for requirement in requirements}


def with_their_parts(declared: set[str]) -> set[str]:
    """The declared distributions and those they require directly: `sagemaker` is a meta
    package whose `sagemaker.*` modules come from sagemaker-core, sagemaker-train, ..."""
    parts = set(declared)
    for name in declared:
        try:
            parts |= distributions(importlib.metadata.requires(name) or [])
        except importlib.metadata.PackageNotFoundError:  # the SDK, after make setup EXTRAS=dev
            continue  # then no module of its parts is installed either, so none needs allowing
    return parts


def extra_of(path: Path) -> str | None:
    """The optional dependency group a module may use: the SDK's or boto3's; None: core only."""
    relative = path.relative_to(PACKAGE_DIR).parts
    if relative[0] == "pipeline":
        return "pipeline"
    if relative[0] == "tracking":
        return "tracking"
    boto3_jobs = (("aws.py",), ("monitor", "__main__.py"), ("evaluate", "champion.py"))
    if relative[0] == "deploy" or relative in boto3_jobs:
        return "deploy"
    return None


def test_imports_are_declared_dependencies():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    core = distributions(project["dependencies"])
    extras = project["optional-dependencies"]
    allowed = {
        None: core,
        **{extra: core | with_their_parts(distributions(extras[extra])) for extra in extras},
    }
    owners = importlib.metadata.packages_distributions()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for module in imported_modules([path]):
            declared = {name.lower() for name in owners.get(module, [module])}
            assert declared & allowed[extra_of(path)], (
                f"{path.name} imports {module}, which no dependency it may use provides"
            )
