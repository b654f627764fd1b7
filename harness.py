"""Shared by the template's tests, `make demo` and `make bench`.

Renders the template, finds Python interpreters, and builds the environments that run the
generated projects. Those environments are synced with uv from the locks the template ships
(one per framework, so they hold the images' versions and never drift from what a render
installs), built once per lock and extras under build/envs/, then reused by every render and
every later run.
"""

import atexit
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent
BUILD_DIR = TEMPLATE_DIR / "build"
OPTIONS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
CHOICES = {name: value for name, value in OPTIONS.items() if isinstance(value, list) and not name.startswith("_")}
# The images' Python, which every generated project runs (cookiecutter.json, "_python_version").
DEFAULT_PYTHON = OPTIONS["_python_version"]
DEFAULT_FRAMEWORK = CHOICES["model_framework"][0]
# The options that change generated code together: every pairing is rendered and tested.
COMBINATIONS = [
    {"problem_type": problem, "model_framework": framework}
    for problem in CHOICES["problem_type"]
    for framework in CHOICES["model_framework"]
]


# cookiecutter changes the process's working folder while it renders: one render at a time.
RENDERING = threading.RLock()


def render(output_dir: Path, **answers: str) -> Path:
    """Render the template without prompts; return the new project's directory."""
    from cookiecutter.main import cookiecutter

    answers.setdefault("_init_git", "no")
    with RENDERING:
        return Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(output_dir), extra_context=answers))


def render_replay(output_dir: Path, **answers: str) -> Path:
    """Render from a replay file: answers reach the files verbatim, as typed answers do.

    Unlike `render`, cookiecutter neither renders these answers as Jinja nor checks them
    against the choices, so this is how the tests hand the pre-generation hook raw input.
    """
    from cookiecutter.main import cookiecutter
    from slugify import slugify

    context = {name: value[0] if name in CHOICES else value for name, value in OPTIONS.items()}
    context.update(answers)
    context["project_slug"] = answers.get("project_slug", slugify(context["project_name"]))
    context["package_name"] = answers.get("package_name", context["project_slug"].replace("-", "_"))
    context["staging_account_id"] = answers.get("staging_account_id", context["dev_account_id"])
    context["prod_account_id"] = answers.get("prod_account_id", context["staging_account_id"])
    context["_init_git"] = answers.get("_init_git", "no")
    with tempfile.TemporaryDirectory() as replay_dir:
        replay_file = Path(replay_dir) / "answers.json"
        replay_file.write_text(json.dumps({"cookiecutter": context}), encoding="utf-8")
        with RENDERING:
            return Path(cookiecutter(str(TEMPLATE_DIR), replay=str(replay_file), output_dir=str(output_dir)))


def find_python(version: str) -> str | None:
    """An interpreter for `version` (e.g. "3.12"): on PATH, else under pyenv; None if absent."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(path) for path in pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        result = subprocess.run(
            [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0 and result.stdout.strip() == version:
            return candidate
    return None


# What `make setup EXTRAS=dev` installs: the lint-only setup, without the SageMaker SDK.
LINT_ONLY_EXTRAS = ("dev",)
# uv, from the template's own environment (pyproject.toml's test group).
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
# The locks a render's uv.lock is rendered from, one per framework (scripts/lock.py).
LOCKS_DIR = TEMPLATE_DIR / "templates" / "locks"
# The project's own entry in a lock: the one place the lock names the project.
LOCKED_PROJECT = '[[package]]\nname = "{name}"\nversion = '


def uv_environment(**variables: str) -> dict[str, str]:
    """The environment for uv: interpreters come from this machine, never from a download."""
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", **variables}


def shipped_lock(framework: str) -> Path:
    return LOCKS_DIR / f"{framework}.lock"


def templated_lock(lock: str, project_slug: str) -> str:
    """A render's uv.lock with the project's name made the template variable it was rendered from."""
    entry = LOCKED_PROJECT.format(name=project_slug)
    if lock.count(entry) != 1:
        raise ValueError(f"the lock names project {project_slug!r} {lock.count(entry)} times, not once")
    return lock.replace(entry, LOCKED_PROJECT.format(name="{{ cookiecutter.project_slug }}"))


def locked_project(framework: str) -> Path:
    """A render of `framework`'s default project, once per process: what uv syncs from."""
    with RENDERING:  # rendered once however many threads ask
        return _locked_project(framework)


@functools.cache
def _locked_project(framework: str) -> Path:
    output_dir = Path(tempfile.mkdtemp(prefix=f"harness-{framework}-"))
    atexit.register(shutil.rmtree, output_dir, ignore_errors=True)
    return render(output_dir, model_framework=framework)


@contextlib.contextmanager
def building(env_dir: Path) -> Iterator[bool]:
    """Hold `env_dir`'s build lock, across processes (pytest-xdist's workers share build/envs/);
    yields whether the environment still needs building. A half-built one (no .complete
    marker) is removed first."""
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(env_dir.with_name(env_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        needed = not (env_dir / ".complete").exists()
        if needed:
            shutil.rmtree(env_dir, ignore_errors=True)
            print(f"harness: building {env_dir.relative_to(TEMPLATE_DIR)} (once)", file=sys.stderr)
        yield needed
        if needed:
            (env_dir / ".complete").touch()


def project_env(framework: str = DEFAULT_FRAMEWORK, extras: tuple[str, ...] | None = None) -> Path:
    """The Python of a reusable environment synced from a framework's shipped lock: the
    project's runtime dependencies and those of `extras` (None: every extra), at the locked
    versions, which are the image's (images.toml). The project itself is not installed: the
    suites import it from src/.

    Built under build/envs/ on first use, keyed by the lock and the extras.
    """
    python = find_python(DEFAULT_PYTHON)
    if python is None:
        raise RuntimeError(
            f"Python {DEFAULT_PYTHON} not found; install it (e.g. pyenv install {DEFAULT_PYTHON}) "
            f"or put python{DEFAULT_PYTHON} on PATH"
        )
    lock = shipped_lock(framework).read_bytes()
    key = hashlib.sha256(lock + repr(extras).encode()).hexdigest()[:12]
    env_dir = BUILD_DIR / "envs" / "-".join([framework, *(extras or ()), key])
    with building(env_dir) as needed:
        if needed:
            selected = ["--all-extras"] if extras is None else [f"--extra={extra}" for extra in extras]
            command = [UV, "sync", "--locked", "--no-install-project", "--quiet", "--python"]
            environment = uv_environment(UV_PROJECT_ENVIRONMENT=str(env_dir))
            project = locked_project(framework)
            subprocess.run([*command, python, *selected], cwd=project, env=environment, check=True)
            # The SDK compiled now, as make setup does, or its first import by each suite would
            # print its docstrings' SyntaxWarnings. The rest compiles as the suites import it.
            for sdk in (env_dir / "lib").glob("python*/site-packages/sagemaker"):
                compile_sdk = ["-W", "ignore::SyntaxWarning", "-m", "compileall", "-q", "-j", "0", str(sdk)]
                subprocess.run([env_dir / "bin" / "python", *compile_sdk], check=True, stdout=subprocess.DEVNULL)
    return env_dir / "bin" / "python"


# The AWS CLI that `make register` runs, for the tests of it (v1: v2 is not on PyPI).
AWSCLI_REQUIREMENT = "awscli==1.46.2"


def tool_env(requirement: str, command: str) -> Path:
    """`command` of a tool installed in an environment of its own under build/envs/ (once).

    Tools whose pins would clash with the generated projects' (checkov pins an old boto3, the
    AWS CLI its own botocore) each get one.
    """
    env_dir = BUILD_DIR / "envs" / requirement.replace("==", "-")
    with building(env_dir) as needed:
        if needed:
            python = find_python(DEFAULT_PYTHON) or sys.executable
            subprocess.run([UV, "venv", "--quiet", "--python", python, str(env_dir)], env=uv_environment(), check=True)
            install = [UV, "pip", "install", "--quiet", "--python", str(env_dir / "bin" / "python"), requirement]
            subprocess.run(install, env=uv_environment(), check=True)
    return env_dir / "bin" / command


def checkov_env() -> Path:
    """The checkov command, at the generated Makefile's pin, so the harness checks what projects run."""
    makefile = (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "Makefile").read_text()
    [requirement] = re.findall(r'"(checkov==[\d.]+)"', makefile)
    return tool_env(requirement, "checkov")


def awscli_env() -> Path:
    """The `aws` command, for the tests of `make register`."""
    return tool_env(AWSCLI_REQUIREMENT, "aws")


def checkov_scan(checkov: Path, *targets: str) -> dict[str, int]:
    """Scan CloudFormation targets (--file F, --directory D) offline; the passed/failed counts.

    Raises with checkov's report when anything fails.
    """
    command = [str(checkov), "--framework", "cloudformation", "--compact", "--quiet", "--skip-download", *targets]
    scan = subprocess.run(command, capture_output=True, text=True)
    counts = {kind: int(n) for kind, n in re.findall(r"(Passed|Failed) checks: (\d+)", scan.stdout)}
    if scan.returncode or counts.get("Failed", 1):
        raise AssertionError(scan.stdout[-3000:] + scan.stderr[-2000:])
    return counts


# The generated CI/CD tests (templates, branch flow, buildspecs against moto). They depend on the
# problem type (the integration test's checks), not on the framework or the Python version, so
# they run with the scikit-learn combinations and the rest of the suite runs everywhere.
CI_TESTS = [
    "tests/test_batch_infra.py",
    "tests/test_buildspecs.py",
    "tests/test_cicd_flow.py",
    "tests/test_endpoint_infra.py",
    "tests/test_infra.py",
    "tests/test_monitoring_infra.py",
]


# The generated tests of the ML steps and their local runs. The inference option changes how the
# model is deployed (the deploy package, infra/, buildspecs/, the docs and their tests), not what
# these tests read, which check_inference_changes_only_deployment proves of each inference
# variant: they run in the default render's suite and not again in the other inferences'.
ML_TESTS = [
    "tests/test_champion.py",
    "tests/test_data.py",
    "tests/test_definition_runs_locally.py",
    "tests/test_evaluate.py",
    "tests/test_evaluation_report.py",
    "tests/test_executor.py",
    "tests/test_infer.py",
    "tests/test_local_pipeline.py",
    "tests/test_monitor.py",
    "tests/test_tracking.py",
    "tests/test_train.py",
    "tests/test_wheelhouse.py",
]
# What the code ML_TESTS test may not use: the inference setting or the deploy package; and what
# the tests may not read besides: the files the option renders differently.
READS_INFERENCE = r"\bINFERENCE\b|\bDEPLOYS_|^\s*(?:from|import)\s+\S*\bdeploy\b"
READS_DEPLOYMENT_FILES = r"infra/|buildspecs/|README|docs/"


def check_inference_changes_only_deployment(variant: Path, default: Path) -> None:
    """Raise unless `variant` (another inference) holds the default render's ML code, data, lock
    and ML_TESTS byte for byte, but for the INFERENCE line of settings.py, and neither those
    tests nor that code (deploy/ and settings.py apart) reads what the option changes."""
    [package] = [path.name for path in (default / "src").iterdir() if path.is_dir()]
    settings_file = Path("src", package, "settings.py")

    def content(project: Path, path: Path) -> bytes:
        text = (project / path).read_bytes()
        return re.sub(rb"^INFERENCE = .*\n", b"", text, flags=re.MULTILINE) if path == settings_file else text

    compared = [path.relative_to(default) for path in (default / "src").rglob("*.py")]
    compared += [path.relative_to(default) for path in (default / "data").rglob("*") if path.is_file()]
    compared += [Path(name) for name in ("pyproject.toml", "uv.lock", "images.toml", "tests/conftest.py", *ML_TESTS)]
    consequence = "harness.ML_TESTS must then run in every inference variant"
    for path in compared:
        if content(variant, path) != content(default, path):
            raise AssertionError(f"{path} differs between the inference variants: {consequence}")
        if path.suffix != ".py" or path == settings_file or "deploy" in path.parts:
            continue
        reads = READS_INFERENCE if path.parts[0] == "src" else f"{READS_INFERENCE}|{READS_DEPLOYMENT_FILES}"
        found = re.search(reads, (default / path).read_text(), re.MULTILINE)
        if found:
            raise AssertionError(f"{path} reads {found.group(0).strip()!r}: {consequence}")


def run_suite(
    project: Path, python: Path, ignored: list[str] | tuple[str, ...] = (), extra_arguments: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run a generated project's own test suite with `python`, but for the `ignored` test files;
    raise with its output if it fails."""
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra_arguments]
    command += [f"--ignore={path}" for path in ignored]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    if result.returncode:
        raise AssertionError(result.stdout[-4000:] + result.stderr[-2000:])
    return result


def parse_structured_files(project: Path) -> None:
    """Parse every TOML, JSON, YAML and Python file of a rendered project; raise if one fails.

    infra/ holds CloudFormation, whose short-form functions (!Ref, !Sub, ...) are YAML tags:
    they are read as plain values there.
    """
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        pass

    def function(loader, _tag, node):
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        return loader.construct_scalar(node)

    CloudFormationLoader.add_multi_constructor("!", function)
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        if path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in (".json", ".ipynb"):
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in (".yaml", ".yml"):
            loader = CloudFormationLoader if "infra" in path.relative_to(project).parts else yaml.SafeLoader
            yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        elif path.suffix == ".py":
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
