"""`make seed`: build, offline, what a SageMaker Projects registration uploads.

Renders the template in SageMaker Projects mode (`_sagemaker_projects=yes`: the seed's AWS
names come from the project's environment when its builds run, DESIGN principle 3) and writes
build/sagemaker-projects/<template-name>/<version>/:

  seed.zip            the rendered project: the repository's first commit
  launcher.zip        the custom resources' code: launcher.py beside the seed's package
  cicd.yml            the seed's infra/cicd.yml, byte for byte: the project's nested stack
  target-account.yml  the seed's infra/target-account.yml: the StackSet's template
  project.yml         the project template, rendered from project.yml.j2

project.yml passes each nested stack the parameters that the seed's own `deploy
stack-parameters` derives (launcher.py runs that code), and takes their names from the
seed itself, so the project template cannot drift from infra/. <version> is a digest of all
of it: the same answers give the same bytes, and a new build never overwrites an old one.
"""

import argparse
import ast
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import jinja2
from cookiecutter.exceptions import FailedHookException

import harness
from sagemaker_projects import launcher

HERE = Path(__file__).resolve().parent
OUTPUT_DIR = harness.BUILD_DIR / "sagemaker-projects"
# The seed's answers unless given: every project renames it at run time anyway.
SEED_ANSWERS = {"project_name": "ML Project", "_sagemaker_projects": "yes", "_init_git": "no"}
# SageMaker's rule for a template's name (CreateProject's CfnTemplateName).
TEMPLATE_NAME_LIMIT = 32
PROBLEM_NAMES = {"binary_classification": "classifier", "regression": "regressor"}
PROVIDER_TYPES = {"github": "GitHub", "gitlab": "GitLab", "bitbucket": "Bitbucket"}
# Zip entries carry this date, whatever the files' times: same inputs, same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class SeedError(Exception):
    """A problem with the seed's inputs; the message says what to change."""


def check_template_name(name: str) -> None:
    if len(name) > TEMPLATE_NAME_LIMIT or not name.replace("-", "").isalnum() or "--" in name:
        raise SeedError(
            f"template name {name!r}: SageMaker allows at most {TEMPLATE_NAME_LIMIT} letters, "
            "digits and single hyphens; pass another TEMPLATE_NAME"
        )


def write_zip(path: Path, root: Path) -> None:
    """A zip of the files under `root` whose bytes depend on their paths, modes and content only."""
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    with zipfile.ZipFile(path, "w") as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(root).as_posix(), date_time=ZIP_DATE)
            info.external_attr = (0o100755 if os.access(file, os.X_OK) else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes(), compresslevel=9)


def rendered_settings(project: Path) -> dict:
    """The seed's rendered constants (answers, CodeBuild image), read from its settings.py."""
    [settings_file] = project.glob("src/*/settings.py")
    tree = ast.parse(settings_file.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        **constants,
        "PACKAGE": settings_file.parent.name,
        "AUTHOR_EMAIL": pyproject["project"]["authors"][0]["email"],
    }


def parameter_names(project: Path, seed: dict) -> dict[str, list[str]]:
    """The parameters launcher.py derives for each nested stack, asked of the seed's own code."""
    script = (
        "import json, launcher\n"
        "properties = json.loads(input())\n"
        "print(json.dumps({stack: list(launcher.stack_parameters({**properties, 'Stack': stack}))"
        " for stack in ('cicd', 'target-account')}))\n"
    )
    properties = {
        "ProjectName": "Seed",
        "ProjectId": "p-000000000000",
        "DevAccountId": seed["DEV_ACCOUNT_ID"],
        "StagingAccountId": seed["STAGING_ACCOUNT_ID"],
        "ProdAccountId": seed["PROD_ACCOUNT_ID"],
        "RepositoryId": "owner/repository",
    }
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(project / "src")]),
        "PACKAGE": seed["PACKAGE"],
        "AWS_REGION": seed["AWS_REGION"],
    }
    python = harness.find_python(seed["PYTHON_VERSION"]) or sys.executable
    result = subprocess.run(
        [python, "-c", script], input=json.dumps(properties), env=environment, capture_output=True, text=True
    )
    if result.returncode:
        raise SeedError(f"the seed's stack-parameters failed: {result.stderr.strip().splitlines()[-1]}")
    names = json.loads(result.stdout)
    names["target-account"] = [n for n in names["target-account"] if n not in launcher.STACKSET_EXTRAS]
    return names


def render_project_template(context: dict) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    return environment.get_template("project.yml.j2").render(context)


def collect(project: Path, files: Path, seed: dict) -> None:
    """seed.zip, launcher.zip and the two infra templates, into `files`."""
    write_zip(files / "seed.zip", project)
    with tempfile.TemporaryDirectory() as staging:
        staging = Path(staging)
        shutil.copy2(HERE / "launcher.py", staging / "launcher.py")
        shutil.copytree(project / "src" / seed["PACKAGE"], staging / seed["PACKAGE"])
        write_zip(files / "launcher.zip", staging)
    for template in ("cicd.yml", "target-account.yml"):
        shutil.copyfile(project / "infra" / template, files / template)


def version_of(files: Path) -> str:
    """A digest of the artefacts and of the sources project.yml is rendered from."""
    digest = hashlib.sha256()
    for file in [*sorted(files.iterdir()), HERE / "project.yml.j2", HERE / "seed-buildspec.yml"]:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


def build(answers: dict[str, str], template_name: str | None, output_dir: Path) -> Path:
    """Build the registration's files; return their folder (see the module docstring)."""
    unknown = sorted(set(answers) - set(harness.OPTIONS))
    if unknown:
        raise SeedError(f"{', '.join(unknown)}: not an option of the template; see cookiecutter.json")
    for option, value in answers.items():
        if option in harness.CHOICES and value not in harness.CHOICES[option]:
            raise SeedError(f"{option} {value!r}: not supported; choose one of {', '.join(harness.CHOICES[option])}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        try:
            project = harness.render(scratch / "render", **{**SEED_ANSWERS, **answers})
        except FailedHookException:
            raise SeedError("the template refused the answers (the lines above say why)") from None
        seed = rendered_settings(project)
        name = template_name or "-".join(
            [PROBLEM_NAMES[seed["PROBLEM_TYPE"]], seed["MODEL_FRAMEWORK"], seed["GIT_PROVIDER"]]
        )
        check_template_name(name)
        files = scratch / "files"
        files.mkdir()
        collect(project, files, seed)
        version = version_of(files)
        names = parameter_names(project, seed)
        context = {
            "template_name": name,
            "artifacts": f"artifacts/{name}/{version}",
            "git_provider": seed["GIT_PROVIDER"],
            "provider_type": PROVIDER_TYPES.get(seed["GIT_PROVIDER"]),
            "package": seed["PACKAGE"],
            "python_version": seed["PYTHON_VERSION"],
            "codebuild_image": seed["CODEBUILD_IMAGE"],
            "staging_account_id": seed["STAGING_ACCOUNT_ID"],
            "prod_account_id": seed["PROD_ACCOUNT_ID"],
            "author_email": seed["AUTHOR_EMAIL"],
            "cicd_parameters": names["cicd"],
            "target_account_parameters": names["target-account"],
            "seed_buildspec": (HERE / "seed-buildspec.yml").read_text(encoding="utf-8").rstrip("\n"),
        }
        (files / "project.yml").write_text(render_project_template(context), encoding="utf-8")
        manifest = {"template_name": name, "version": version, "answers": answers}
        (files / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        target = output_dir / name / version
        if not target.exists():  # an existing one holds the same bytes (same version)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(files, scratch / "ready")
            os.replace(scratch / "ready", target)
        return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seed", description=__doc__.splitlines()[0])
    parser.add_argument("answers", nargs="*", metavar="option=value", help="a cookiecutter answer")
    parser.add_argument("--template-name", help="at most 32 characters (default: e.g. classifier-sklearn-github)")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    # cookiecutter logs a refused answer with its traceback; the hook's lines have said why.
    logging.getLogger("cookiecutter").addHandler(logging.NullHandler())
    try:
        answers = dict(answer.split("=", 1) for answer in args.answers)
    except ValueError:
        print("seed: error: give answers as option=value, e.g. git_provider=gitlab", file=sys.stderr)
        return 2
    try:
        target = build(answers, args.template_name, args.output_dir)
    except SeedError as error:
        print(f"seed: error: {error}", file=sys.stderr)
        return 2
    print(f"seed: built {target}")
    print(
        f"seed: next, `make register ROUTE=s3 SEED={target} STUDIO_ROLE=<Studio execution role ARN> "
        "DOMAIN=<d-...>` (or ROUTE=servicecatalog, without DOMAIN)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
