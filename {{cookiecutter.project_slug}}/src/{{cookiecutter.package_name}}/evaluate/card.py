"""The model card of a model version: SageMaker's model package card, and the same as Markdown.

Evaluate writes the card the Register step files with the version (model_card.json), in the
schema of SageMaker's model package model card: its intended use (intended_use.md), how
it was trained (hyperparameters, the data's digest), its evaluation (metrics with their
bootstrap deviations, the champion comparison), its explanations and bias assessment, and its
lineage (commit, branch, code, data, execution). The Track step adds the MLflow run once it
exists, and the card's status follows the version's approval (CARD_STATUS): in SageMaker an
EventBridge rule's function updates it (infra/cicd.yml), locally `registry approve` and
`reject` do, and the local registry keeps the card as model_card.md beside the version.

Standard library only: the registry and the CI's function render and update it without numpy.
"""

import json

from .. import settings

# A version's approval status -> its card's status: a rejected version's card is archived.
CARD_STATUS = {
    settings.PENDING_APPROVAL: "PendingReview",
    settings.APPROVED: "Approved",
    "Rejected": "Archived",
}
CARD_FILE = "model_card.json"
MARKDOWN_FILE = "model_card.md"
# The schema's longest free text (intended_uses and additional_information fields).
TEXT_LENGTH = 2048


def _metric(name: str, value, notes: str = "") -> dict:
    kind = "boolean" if isinstance(value, bool) else "number"
    entry = {"name": name, "type": kind, "value": value}
    return {**entry, "notes": notes} if notes else entry


def content(
    report: dict,
    explanations: dict,
    bias: dict,
    hyperparameters: dict,
    lineage: dict[str, str],
) -> dict:
    """The card's content, as ModelCardContent holds it (JSON-encoded) in CreateModelPackage."""
    metrics = report[settings.REPORT_KEY]
    comparison = report[settings.COMPARISON_KEY]
    intended_use = " ".join(settings.INTENDED_USE_FILE.read_text(encoding="utf-8").split())
    quality = [
        _metric(
            name, entry["value"], f"bootstrap standard deviation {entry['standard_deviation']:.4g}"
        )
        for name, entry in metrics.items()
        if isinstance(entry, dict) and "value" in entry
    ]
    champion = [_metric("not worse than the champion", comparison["not_worse"])]
    if comparison["champion"] is not None:
        champion.append(_metric(f"champion's {comparison['metric']}", comparison["champion"]))
        champion.append(_metric("difference lower bound", comparison["difference_lower_bound"]))
    ranked = explanations["feature_importance"]["features"]
    importance = [_metric(e["feature"], e["importance"]) for e in ranked[:10]]
    disparities = [
        _metric(f"{feature['feature']} {name}", check["value"], f"threshold {check['threshold']:g}")
        for feature in bias["sensitive_features"]
        for name, check in feature["disparities"].items()
        if check["value"] is not None
    ]
    groups = [
        {"name": "quality", "metric_data": quality},
        {"name": "champion comparison", "metric_data": champion},
        {"name": "feature importance", "metric_data": importance},
    ]
    if disparities:
        groups.append({"name": "bias", "metric_data": disparities})
    return {
        "model_overview": {
            "model_creator": settings.PROJECT_SLUG,
            "model_artifact": [lineage["model-artifact"]] if "model-artifact" in lineage else [],
        },
        "intended_uses": {
            "purpose_of_model": intended_use[:TEXT_LENGTH],
            "intended_uses": intended_use[:TEXT_LENGTH],
        },
        "training_details": {
            "objective_function": {"function": "Maximize", "facet": settings.PRIMARY_METRIC},
            "training_observations": f"data digest {lineage.get('data-digest', 'unknown')}"[:1024],
            "training_job_details": {
                "hyper_parameters": [
                    {"name": name, "value": str(value)} for name, value in hyperparameters.items()
                ],
                "training_datasets": [lineage["input-data"]] if "input-data" in lineage else [],
            },
        },
        "evaluation_details": [
            {
                "name": "test split",
                "evaluation_observation": comparison["summary"][:2096],
                "metric_groups": groups,
            }
        ],
        "additional_information": {
            "ethical_considerations": bias["gate"]["summary"][:TEXT_LENGTH],
            "caveats_and_recommendations": (
                f"{explanations['feature_importance']['method']}; per-row attributions: "
                f"{explanations['attributions']['method']}"
            )[:TEXT_LENGTH],
            "custom_details": {key: value[:1024] for key, value in sorted(lineage.items())},
        },
    }


def with_run(card: dict, run_id: str, experiment: str) -> dict:
    """The card with the MLflow run that tracked its execution added to its lineage."""
    details = card["additional_information"]["custom_details"]
    return {
        **card,
        "additional_information": {
            **card["additional_information"],
            "custom_details": {**details, "mlflow-run-id": run_id, "mlflow-experiment": experiment},
        },
    }


def markdown(card: dict, status: str) -> str:
    """The card for a person, as the local registry keeps it beside the version."""
    lines = [
        f"# Model card: {card['model_overview']['model_creator']}",
        "",
        f"Status: {status}",
        "",
    ]
    lines += ["## Intended use", "", card["intended_uses"]["intended_uses"], ""]
    training = card["training_details"]
    lines += ["## Training", "", training["training_observations"], ""]
    lines += [
        f"- {entry['name']}: {entry['value']}"
        for entry in training["training_job_details"]["hyper_parameters"]
    ]
    for evaluation in card["evaluation_details"]:
        lines += [
            "",
            f"## Evaluation on the {evaluation['name']}",
            "",
            evaluation["evaluation_observation"],
        ]
        for group in evaluation["metric_groups"]:
            lines += [
                "",
                f"### {group['name'].capitalize()}",
                "",
                "| metric | value | notes |",
                "|---|---|---|",
            ]
            lines += [
                f"| {m['name']} | {m['value']} | {m.get('notes', '')} |"
                for m in group["metric_data"]
            ]
    information = card["additional_information"]
    lines += ["", "## Bias", "", information["ethical_considerations"], ""]
    lines += ["## Explanations", "", information["caveats_and_recommendations"], ""]
    lines += ["## Lineage", ""]
    lines += [f"- {key}: {value}" for key, value in information["custom_details"].items()]
    return "\n".join(lines) + "\n"


def encoded(card: dict) -> str:
    """ModelCardContent: the card as one JSON string."""
    return json.dumps(card, separators=(",", ":"))
