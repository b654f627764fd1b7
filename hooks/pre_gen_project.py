"""Validate every answer, and every AWS name the project will derive, before a file is written.

Prints one line per problem (the option, its bad value and the fix) and exits 1; cookiecutter
then removes the project folder it had created, so nothing is left on disk. The AWS naming rules
are the generated package's own `naming.py`, loaded from the template: one implementation.

Preset answers (a user config's `default_context`, docs/customizing.md) reach these checks as
typed ones do, except those cookiecutter drops with a mere warning; the user config it finds by
itself is read again here so that those are refused too.
"""

import difflib
import json
import keyword
import os
import re
import sys
import types
from pathlib import Path

# Rendered by cookiecutter as JSON data; the unrendered file still imports, for the tests.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
# The template's absolute directory (local_extensions.TemplateDirExtension), also as JSON:
# `_repo_dir` may be relative, and this hook runs inside the new project folder.
TEMPLATE_DIR_JSON = r"""{"template_dir": {{ template_dir | string_literal }}}"""

SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
ACCOUNT_ID = re.compile(r"\d{12}")
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
ACCOUNT_OPTIONS = ("dev_account_id", "staging_account_id", "prod_account_id")
# Import names of the generated project's dependencies: a package of that name would shadow them.
DEPENDENCIES = {
    "boto3",
    "botocore",
    "cfnlint",
    "joblib",
    "moto",
    "numpy",
    "pandas",
    "pytest",
    "sagemaker",
    "sklearn",
    "xgboost",
    "yaml",
}


def load_naming(template_dir: Path):
    """The generated package's naming module, run from the template directory.

    Compiled here rather than imported: an import would write __pycache__ into the template,
    and every later render would copy it into the project.
    """
    [path] = template_dir.glob("*/src/*/naming.py")
    module = types.ModuleType("template_naming")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclasses look their module up while being created
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


def read_options(template_dir: Path) -> dict:
    """cookiecutter.json: every option and its default or choices."""
    return json.loads((template_dir / "cookiecutter.json").read_text(encoding="utf-8"))


def choices_of(options: dict) -> dict[str, list[str]]:
    """The choice options and their allowed values."""
    return {name: values for name, values in options.items() if isinstance(values, list) and not name.startswith("_")}


def check_text(answers: dict) -> list[str]:
    problems = []
    for option in ("project_name", "author_name"):
        value = answers[option]
        if not value.strip():
            problems.append(f"{option}: must not be empty; give a name")
        elif "\n" in value or len(value) > 100:
            problems.append(f"{option} {value[:40]!r}: must be one line of at most 100 characters")
    if not EMAIL.fullmatch(answers["author_email"]):
        problems.append(f"author_email {answers['author_email']!r}: not an e-mail address; use name@example.com")
    return problems


def check_slug_and_package(answers: dict) -> list[str]:
    problems = []
    slug, package = answers["project_slug"], answers["package_name"]
    if not SLUG.fullmatch(slug):
        problems.append(
            f"project_slug {slug!r}: use lowercase letters, digits and single hyphens, starting with a "
            f"letter, e.g. 'customer-churn'"
        )
    if not PACKAGE.fullmatch(package):
        problems.append(
            f"package_name {package!r}: use lowercase letters, digits and underscores, e.g. 'customer_churn'"
        )
    elif keyword.iskeyword(package):
        problems.append(f"package_name {package!r}: is a Python keyword; choose another name, e.g. '{package}_ml'")
    elif package in sys.stdlib_module_names:
        problems.append(f"package_name {package!r}: shadows the standard-library module; choose e.g. '{package}_ml'")
    elif package in DEPENDENCIES:
        problems.append(f"package_name {package!r}: shadows a dependency of the project; choose e.g. '{package}_ml'")
    return problems


def check_aws(answers: dict, naming) -> list[str]:
    problems = []
    region = answers["aws_region"]
    if region not in naming.AWS_REGIONS:
        close = difflib.get_close_matches(region, sorted(naming.AWS_REGIONS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "use a code such as 'us-east-1'"
        problems.append(f"aws_region {region!r}: not an AWS region code; {hint}")
    for option in ACCOUNT_OPTIONS:
        if not ACCOUNT_ID.fullmatch(answers[option]):
            problems.append(f"{option} {answers[option]!r}: an AWS account id is 12 digits, e.g. '123456789012'")
    return problems


def check_derived_names(answers: dict, naming) -> list[str]:
    """Every AWS name the project derives, on the branch with the longest suffix, must fit."""
    slug, account, region = answers["project_slug"], answers["dev_account_id"], answers["aws_region"]
    longest = naming.longest_use_case(account, region)
    if len(slug) > longest:
        return [
            f"project_slug {slug!r}: is {len(slug)} characters but AWS names derived from it "
            f"(S3 bucket, SageMaker, IAM) allow at most {longest} in {region}; choose a shorter project_slug"
        ]
    worst_branch = "feature/" + "x" * 40
    names = naming.derive_names(slug, worst_branch, account, region).values()
    return [
        f"project_slug {slug!r}: {problem}; choose another project_slug"
        for name in names
        if (problem := name.problem())
    ]


def check_choices(answers: dict, choices: dict[str, list[str]]) -> list[str]:
    return [
        f"{option} {answers[option]!r}: not supported; choose one of {', '.join(allowed)}"
        for option, allowed in choices.items()
        if answers[option] not in allowed
    ]


def user_config() -> tuple[Path, dict] | None:
    """The user config cookiecutter reads unless given --config-file, and its contents, or None.

    cookiecutter reads $COOKIECUTTER_CONFIG, else ~/.cookiecutterrc (and has already refused one
    that is not YAML). PyYAML is one of its dependencies, so it is there for this hook.
    """
    path = Path(os.environ.get("COOKIECUTTER_CONFIG") or Path.home() / ".cookiecutterrc")
    if not path.is_file():
        return None
    import yaml

    return path, yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def check_presets(path: Path, config: dict, options: list[str], choices: dict[str, list[str]]) -> list[str]:
    """Presets cookiecutter would drop with a warning, and with a bad choice every one after it."""
    problems = []
    for option, value in (config.get("default_context") or {}).items():
        where = f"{path}: default_context {option}"
        if option not in options:
            close = difflib.get_close_matches(option, options, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove it"
            problems.append(f"{where}: not an option of the template; {hint}")
        elif not isinstance(value, str):
            problems.append(f"{where}: YAML reads {value!r} as {type(value).__name__}, not text; quote it")
        elif option in choices and value not in choices[option]:
            problems.append(f"{where} {value!r}: not supported; choose one of {', '.join(choices[option])}")
    return problems


def validate(answers: dict, choices: dict[str, list[str]], naming) -> list[str]:
    """All problems with the answers, one line each; empty when the project can be generated."""
    problems = check_text(answers) + check_slug_and_package(answers) + check_choices(answers, choices)
    aws_problems = check_aws(answers, naming)
    if not aws_problems and SLUG.fullmatch(answers["project_slug"]):
        aws_problems = check_derived_names(answers, naming)
    for option in ("_init_git", "_sagemaker_projects"):
        if answers.get(option, "no") not in ("yes", "no"):
            problems.append(f"{option} {answers[option]!r}: use 'yes' or 'no'")
    return problems + aws_problems


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    template_dir = Path(json.loads(TEMPLATE_DIR_JSON)["template_dir"])
    options = read_options(template_dir)
    problems = validate(answers, choices_of(options), load_naming(template_dir))
    if config := user_config():
        problems += check_presets(*config, list(options), choices_of(options))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"error: {len(problems)} problem(s) in the answers; nothing was generated", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
