"""Remove what the chosen options do not use, then start the git repository (main and dev).

Runs inside the new project folder. Set `_init_git` to "no" to skip the repository.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

# Rendered by cookiecutter as JSON data; the unrendered file still imports, for the tests.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

SAMPLE_DATA = {"binary_classification": "breast_cancer.csv", "regression": "diabetes.csv"}
# What each way of serving predictions alone deploys, and its tests: the other way's go.
DEPLOYED_BY = {
    "realtime": (
        "infra/endpoint.yml",
        "infra/monitoring.yml",
        "tests/test_endpoint_infra.py",
        "tests/test_monitoring_infra.py",
    ),
    "batch": ("infra/batch.yml", "tests/test_batch_infra.py"),
}
# Training across instances, which only XGBoost does (scikit-learn fits on one machine).
DISTRIBUTED_TRAINING = "src/{package_name}/train/distributed.py"


def prune(project_dir: Path, answers: dict) -> None:
    """Delete the sample data the chosen problem type does not use, the captured traffic of the
    other problem type's or framework's model, the infrastructure of the way of serving
    predictions (`inference`) not chosen, and distributed training unless XGBoost's."""
    if answers["model_framework"] != "xgboost":
        (project_dir / DISTRIBUTED_TRAINING.format(**answers)).unlink()
    for inference, paths in DEPLOYED_BY.items():
        if answers["inference"] not in (inference, "both"):
            for path in paths:
                (project_dir / path).unlink()
    for problem_type, file_name in SAMPLE_DATA.items():
        if problem_type != answers["problem_type"]:
            (project_dir / "data" / "sample" / file_name).unlink()
    kept = f"{Path(SAMPLE_DATA[answers['problem_type']]).stem}-{answers['model_framework']}.jsonl"
    for capture in (project_dir / "data" / "sample" / "capture").glob("*/*.jsonl"):
        if capture.name != kept:
            capture.unlink()


def init_git(project_dir: Path, answers: dict) -> None:
    """Commit the generated files on `main`, branch `dev` from it and leave `dev` checked out."""
    identity = ["-c", f"user.name={answers['author_name']}", "-c", f"user.email={answers['author_email']}"]
    commands = [
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        [
            *identity,
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "Generate the project from the template",
        ],
        ["checkout", "--quiet", "-b", "dev"],
    ]
    for command in commands:
        subprocess.run(["git", *command], cwd=project_dir, check=True)


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    project_dir = Path.cwd()
    prune(project_dir, answers)
    if answers["_init_git"] == "yes":
        if shutil.which("git") is None:
            print("warning: git not found; the project was generated without a git repository", file=sys.stderr)
        else:
            init_git(project_dir, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
