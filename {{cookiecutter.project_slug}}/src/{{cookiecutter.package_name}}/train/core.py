"""Fit the model and save it as a self-describing bundle that `infer` and `evaluate` load.

The bundle is `model.joblib` (the fitted estimator) plus `model.json` (what it expects and
predicts), so serving needs neither pandas nor this module to make sense of it.
"""

import json
from dataclasses import asdict
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
{%- if cookiecutter.model_framework == "xgboost" %}
import xgboost
from xgboost import {{ "XGBClassifier" if cookiecutter.problem_type == "binary_classification" else "XGBRegressor" }} as Estimator
{%- else %}
from sklearn.ensemble import {{ "HistGradientBoostingClassifier" if cookiecutter.problem_type == "binary_classification" else "HistGradientBoostingRegressor" }} as Estimator
{%- endif %}

from .. import settings
from ..data import schema
from ..infer.handler import METADATA_FILE, MODEL_FILE, Model
from .hyperparameters import Hyperparameters


def build_estimator(hyperparameters: Hyperparameters) -> Estimator:
    """The untrained estimator, configured by the hyperparameters."""
    return Estimator(
{%- if cookiecutter.model_framework == "xgboost" %}
        n_estimators=hyperparameters.n_estimators,
        learning_rate=hyperparameters.learning_rate,
        max_depth=hyperparameters.max_depth,
        random_state=hyperparameters.seed,
{%- else %}
        max_iter=hyperparameters.n_estimators,
        learning_rate=hyperparameters.learning_rate,
        max_depth=hyperparameters.max_depth,
        random_state=hyperparameters.seed,
        early_stopping=False,
{%- endif %}
    )


def features_and_target(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix in schema order and the target vector, as plain arrays.

    Plain arrays keep the fitted model free of pandas column names, so serving can pass
    arrays without warnings or pandas.
    """
    return frame[list(schema.FEATURES)].to_numpy(dtype=float), frame[schema.TARGET].to_numpy()


def fit(train: pd.DataFrame, hyperparameters: Hyperparameters) -> Model:
    """Fit the estimator on the training frame{{ " (this host's share, across hosts)" if cookiecutter.model_framework == "xgboost" }}."""
    features, target = features_and_target(train)
{%- if cookiecutter.model_framework == "xgboost" %}
    # xgboost.train with the estimator's parameters, then loaded into it: the same model as
    # its fit, but fit takes the classes from the rows it sees, which across hosts are one
    # host's share (train/distributed.py).
    estimator = build_estimator(hyperparameters)
    booster = xgboost.train(
        estimator.get_xgb_params(),
        xgboost.DMatrix(features, target),
        num_boost_round=estimator.n_estimators,
    )
    estimator.load_model(bytearray(booster.save_raw()))
{%- else %}
    estimator = build_estimator(hyperparameters).fit(features, target)
{%- endif %}
    return Model(estimator=estimator, problem_type=settings.PROBLEM_TYPE, features=schema.FEATURES)


def save(model: Model, model_dir: Path, hyperparameters: Hyperparameters) -> None:
    """Write the model bundle into `model_dir`; `infer.handler.model_fn` loads it."""
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model.estimator, model_dir / MODEL_FILE)
    metadata = {
        "problem_type": model.problem_type,
        "framework": settings.MODEL_FRAMEWORK,
        "features": list(model.features),
        "target": schema.TARGET,
        "hyperparameters": asdict(hyperparameters),
    }
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
