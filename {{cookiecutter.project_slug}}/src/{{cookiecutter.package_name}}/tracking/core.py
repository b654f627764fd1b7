"""Experiment tracking with MLflow: each pipeline execution logs one run.

The Track step logs, in the experiment named after the pipeline, a run named after the
execution (`pipeline/definition.py` places it after Register, and before the quality gate's
Fail step, so that a model the gate refused is tracked too):
- params: the hyperparameters the model was trained with (its model.json);
- data: the input's URI and the digest of its files (Preprocess's data.json), as tags;
- code: its digest, git commit and branch, the build and the execution, as tags;
- metrics: each metric of evaluation.json and its bootstrap standard deviation (`<name>_std`),
  the champion comparison's values, and the largest disparity of each sensitive feature;
- artifacts: evaluation.json, explainability.json, bias.json, evaluation.html, baseline.json
  and data.json;
- the model in MLflow's format, with its signature (the test features to the predictions) and
  the image's library versions as its requirements;
- the model package it became (a tag), whose metadata then names the run (tracking/__main__.py).

`collect` reads what to log from the step's inputs (pure); `log` sends it. The mlflow library
is imported only when a run is logged: a project that tracks nothing never pays for it.
"""

import json
import logging
import os
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from .. import settings
from ..data.core import MANIFEST_PATTERN, read_manifest
from ..infer.handler import METADATA_FILE, Model, predict_array
from ..monitor.baseline import BASELINE_FILE

if TYPE_CHECKING:
    import pandas as pd

# An unreachable server fails the step in seconds rather than after minutes of retries; the
# environment may say otherwise.
CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_DISABLE_TELEMETRY": "true",  # no usage reports to mlflow.org from a job
}
# What the model needs to be loaded: the image's versions of these, as the job has them.
MODEL_REQUIREMENTS = (
    "joblib",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
{%- if cookiecutter.model_framework == "xgboost" %}
    "xgboost",
{%- endif %}
)
SIGNATURE_ROWS = 5


@dataclass(frozen=True)
class Logged:
    """Everything one run records, read from the step's inputs."""

    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: list[Path]
    model_package_arn: str | None = None


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def collect(
    bundle_dir: Path,
    evaluation_dir: Path,
    baseline_dir: Path,
    data_dir: Path,
    lineage: dict[str, str],
    model_package_arn: str | None = None,
) -> Logged:
    """What to log, from the model bundle's folder and what Evaluate, Baseline and Preprocess
    wrote."""
    hyperparameters = _json(bundle_dir / METADATA_FILE)["hyperparameters"]
    report = _json(evaluation_dir / settings.REPORT_FILE)
    metrics = {}
    for name, entry in report[settings.REPORT_KEY].items():
        if isinstance(entry, dict) and "value" in entry:
            metrics[name] = entry["value"]
            metrics[f"{name}_std"] = entry["standard_deviation"]
    comparison = report[settings.COMPARISON_KEY]
    for name in ("champion", "difference", "difference_lower_bound"):
        if comparison[name] is not None:
            metrics[f"champion_comparison.{name}"] = comparison[name]
    bias = _json(evaluation_dir / settings.BIAS_FILE)
    for feature in bias["sensitive_features"]:
        for name, check in feature["disparities"].items():
            if check["value"] is not None:
                metrics[f"bias.{feature['feature']}.{name}"] = check["value"]
    data = read_manifest(data_dir)
    tags = {
        **lineage,
        "data-digest": data["digest"],
        "data-rows": str(data["rows"]),
        "champion-comparison": comparison["summary"],
        "champion-package": comparison["champion_package"],
        "not-worse-than-champion": str(comparison["not_worse"]).lower(),
        "bias-assessment": bias["gate"]["summary"],
        "registered": "true" if model_package_arn else "false",
    }
    if model_package_arn:
        tags["model-package-arn"] = model_package_arn
    documents = (
        settings.REPORT_FILE,
        settings.EXPLAINABILITY_FILE,
        settings.BIAS_FILE,
        settings.EVALUATION_PAGE,
    )
    return Logged(
        params={name: str(value) for name, value in hyperparameters.items()},
        metrics={name: float(value) for name, value in metrics.items()},
        tags=tags,
        artifacts=[
            *(evaluation_dir / name for name in documents),
            baseline_dir / BASELINE_FILE,
            *sorted(data_dir.glob(MANIFEST_PATTERN)),
        ],
        model_package_arn=model_package_arn,
    )


def requirements() -> list[str]:
    """The model's libraries at the versions this job has: the image's."""
    pinned = []
    for name in MODEL_REQUIREMENTS:
        try:
            pinned.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pinned


def artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a SQLite store, else the server's say.

    MLflow would otherwise put a SQLite store's artifacts under the job's working folder.
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme != "sqlite":
        return None
    database = Path(parsed.path.removeprefix("/") if parsed.netloc else parsed.path)
    return (database.parent / "artifacts" / experiment).resolve().as_uri()


def log(
    tracking_uri: str,
    experiment: str,
    run_name: str,
    logged: Logged,
    model: Model,
    test: "pd.DataFrame",
) -> str:
    """Log `logged` as a new run of `experiment` (made if missing); the run's id."""
    for name, value in CLIENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import mlflow
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.models import infer_signature

    # MLflow's notes on its tables, pickles, pip and request headers are not the job's news
    # (set once imported: the import configures its loggers).
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="X has feature names", category=UserWarning)

    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id
        if found
        else client.create_experiment(experiment, artifact_location(tracking_uri, experiment))
    )
    run_id = client.create_run(experiment_id, run_name=run_name).info.run_id
    now = mlflow.utils.time.get_current_time_millis()
    client.log_batch(
        run_id,
        metrics=[Metric(name, value, now, 0) for name, value in logged.metrics.items()],
        params=[Param(name, value) for name, value in logged.params.items()],
        tags=[RunTag(name, value) for name, value in logged.tags.items()],
    )
    for path in logged.artifacts:
        client.log_artifact(run_id, str(path))
    example = test[list(model.features)].head(SIGNATURE_ROWS).astype(float)
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(run_id=run_id):
{%- if cookiecutter.model_framework == "xgboost" %}
        mlflow.xgboost.log_model(
            model.estimator,
            name="model",
            signature=infer_signature(example, predict_array(model, example.to_numpy())),
            input_example=example,
            pip_requirements=requirements(),
        )
{%- else %}
        mlflow.sklearn.log_model(
            model.estimator,
            name="model",
            signature=infer_signature(example, predict_array(model, example.to_numpy())),
            input_example=example,
            pip_requirements=requirements(),
            # The bundle's own serialisation (pickle): skops would refuse the estimator's types.
            serialization_format="cloudpickle",
        )
{%- endif %}
    return run_id
