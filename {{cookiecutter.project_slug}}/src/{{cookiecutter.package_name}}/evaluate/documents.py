"""Everything the Evaluate step writes, from one scoring of the test rows.

    evaluation.json      the metrics and the champion comparison (the quality gate reads it)
    explainability.json  global feature importance and per-row attributions
    bias.json            each sensitive feature's groups and disparities (the gate reads it)
    evaluation.html      all of it drawn, for the person who approves the version
    model_card.json      the version's model card (evaluate/card.py), which Register files

They are registered with the model version (pipeline/definition.py) and kept in the local
registry (pipeline/registry.py).
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import settings
from ..infer.handler import Model, predict_array
from ..train.core import features_and_target
from . import bias, card, curves, explain, page
from .core import Champion, quality_report

PARTIAL = ".partial"


@dataclass(frozen=True)
class Evaluation:
    """What Evaluate found: the three documents and the page drawing them."""

    report: dict
    explanations: dict
    bias: dict
    page: str
    card: dict

    def files(self) -> dict[str, str]:
        """Each file's name and text."""
        return {
            settings.REPORT_FILE: _json(self.report),
            settings.EXPLAINABILITY_FILE: _json(self.explanations),
            settings.BIAS_FILE: _json(self.bias),
            settings.EVALUATION_PAGE: self.page,
            card.CARD_FILE: _json(
                {
                    "content": card.encoded(self.card),
                    "status": card.CARD_STATUS[settings.PENDING_APPROVAL],
                }
            ),
        }

    def summary(self) -> list[str]:
        """The lines a person reads in the job's log."""
        return [self.report[settings.COMPARISON_KEY]["summary"], self.bias["gate"]["summary"]]


def evaluation(
    model: Model,
    test: pd.DataFrame,
    champion: Champion | None,
    hyperparameters: dict | None = None,
    lineage: dict[str, str] | None = None,
    split_rows: int | None = None,
) -> Evaluation:
    """Score the test rows once; evaluate, explain and assess the model on them, and write its
    card with the `hyperparameters` it was trained with and its `lineage`. `split_rows`: the
    rows of the test split, when `test` is a sample of them (data.core.sampled)."""
    features, truth = features_and_target(test)
    predicted = predict_array(model, features)
    report = quality_report(truth, predicted, champion, test)
    explanations = explain.explain(model, test)
    assessment = bias.assess(test, truth, predicted)
    title = f"{settings.PROJECT_SLUG}: evaluation of the model on {len(test)} test rows"
    if split_rows and split_rows > len(test):
        title += f", a uniform sample of the {split_rows} of the split"
    drawn = page.render(report, curves.curves(truth, predicted), explanations, assessment, title)
    written = card.content(report, explanations, assessment, hyperparameters or {}, lineage or {})
    return Evaluation(report, explanations, assessment, drawn, written)


def _json(document: dict) -> str:
    return json.dumps(document, indent=2) + "\n"


def write(folder: Path, files: dict[str, str]) -> None:
    """Write the files into `folder`, all of them or none: each under a partial name first."""
    folder.mkdir(parents=True, exist_ok=True)
    partials = {folder / f".{name}{PARTIAL}": folder / name for name in files}
    try:
        for (partial, _), text in zip(partials.items(), files.values(), strict=True):
            partial.write_text(text, encoding="utf-8")
    except OSError:
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise
    for partial, final in partials.items():
        os.replace(partial, final)
