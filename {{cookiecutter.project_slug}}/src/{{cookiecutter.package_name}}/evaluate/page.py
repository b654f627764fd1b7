"""evaluation.html: the page the person approving a model version reads.

It holds what evaluation.json, explainability.json and bias.json hold, drawn: the metrics and
the champion comparison, the curves (evaluate/curves.py), the feature importance and per-row
attributions, and the metrics of each sensitive feature's groups. One chart per section, inline
SVG (charts.py): the page opens from the model registry, a run folder or MLflow, offline.
"""

import html

from .. import charts, settings
{%- if cookiecutter.problem_type == "binary_classification" %}
from ..infer.handler import DECISION_THRESHOLD
{%- endif %}

STYLE = (
    "body { font-family: sans-serif; margin: 2em; max-width: 60em; } "
    "table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid "
    "#ddd; text-align: left; } .beyond { background: #fbe3e2; } section { margin-top: 2em; }"
)
# Per-row attributions show the features that matter most overall, at most this many.
ATTRIBUTION_COLUMNS = 10


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _table(header: list[str], rows: list[list], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        f'<tr class="{(classes or [""] * len(rows))[index]}">'
        + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
        + "</tr>"
        for index, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(title: str, text: str, chart: str = "", extra: str = "") -> str:
    return (
        f"<section><h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>{chart}{extra}</section>"
    )
{%- if cookiecutter.problem_type == "binary_classification" %}


def performance_sections(report: dict, curves: dict) -> list[str]:
    metrics = report[settings.REPORT_KEY]
    roc, pr, calibration = curves["roc"], curves["precision_recall"], curves["calibration"]
    matrix = metrics["confusion_matrix"]
    labels = sorted(matrix)
    return [
        _section(
            "ROC curve",
            f"AUC {metrics['auc']['value']:.4f}: the chance that a random positive row scores "
            "above a random negative one. The dashed line is guessing.",
            charts.xy_chart(
                [("model", roc["false_positive_rate"], roc["true_positive_rate"], "line")],
                "false positive rate",
                "true positive rate",
                (0, 1),
                (0, 1),
                diagonal=True,
                title="ROC curve",
            ),
        ),
        _section(
            "Precision-recall curve",
            f"Average precision {pr['average_precision']:.4f}, against {pr['base_rate']:.4f} "
            "for guessing (the share of positives).",
            charts.xy_chart(
                [("model", pr["recall"], pr["precision"], "line")],
                "recall",
                "precision",
                (0, 1),
                (0, 1),
                title="Precision-recall curve",
            ),
        ),
        _section(
            "Confusion matrix",
            "Rows are the actual class, columns the predicted one, at the decision threshold "
            f"{DECISION_THRESHOLD}.",
            charts.heatmap(
                [f"actual {label}" for label in labels],
                [f"predicted {label}" for label in labels],
                [[matrix[actual][predicted] for predicted in labels] for actual in labels],
                title="Confusion matrix",
            ),
        ),
        _section(
            "Calibration",
            "The observed rate of positives against the mean predicted probability, in groups "
            "of equal size: on the dashed line a probability means what it says.",
            charts.xy_chart(
                [
                    (
                        "model",
                        calibration["mean_predicted"],
                        calibration["observed_rate"],
                        "line",
                    )
                ],
                "mean predicted probability",
                "observed rate of positives",
                (0, 1),
                (0, 1),
                diagonal=True,
                title="Calibration",
            ),
        ),
    ]
{%- else %}


def performance_sections(report: dict, curves: dict) -> list[str]:
    metrics = report[settings.REPORT_KEY]
    points, residuals = curves["predicted_actual"], curves["residuals"]
    edges = residuals["bin_edges"]
    return [
        _section(
            "Predicted against actual",
            f"R2 {metrics['r2']['value']:.4f}, RMSE {metrics['rmse']['value']:.4g}: on the "
            "dashed line a prediction equals the truth.",
            charts.xy_chart(
                [("test rows", points["actual"], points["predicted"], "points")],
                "actual",
                "predicted",
                diagonal=True,
                title="Predicted against actual",
            ),
        ),
        _section(
            "Residuals",
            "How far the predictions miss (prediction minus truth), counted per range: a "
            "model without bias centres them on 0.",
            charts.column_chart(
                [f"{low:.3g}" for low in edges[:-1]],
                {"test rows": residuals["counts"]},
                "rows",
                title="Residuals",
            ),
        ),
    ]
{%- endif %}


def importance_section(explanations: dict) -> str:
    importance = explanations["feature_importance"]
    ranked = importance["features"]
    return _section(
        "Feature importance",
        importance["method"].capitalize() + "; the whiskers span one standard deviation.",
        charts.bar_chart(
            [entry["feature"] for entry in ranked],
            [entry["importance"] for entry in ranked],
            [entry["standard_deviation"] for entry in ranked],
            f"drop in {settings.PRIMARY_METRIC}",
            title="Feature importance",
        ),
    )


def attribution_section(explanations: dict) -> str:
    attributions = explanations["attributions"]
    shown = [entry["feature"] for entry in explanations["feature_importance"]["features"]]
    shown = shown[:ATTRIBUTION_COLUMNS]
    rows = attributions["rows"]
    return _section(
        "Per-row attributions",
        f"{attributions['method']}, in {attributions['unit']}, for {len(rows)} test rows and the "
        f"{len(shown)} most important features: each row's attributions of every feature add up, "
        f"with the base value {attributions['base_value']:.4g}, to the model's output shown.",
        charts.heatmap(
            [f"row {entry['test_row']} ({entry['output']:.3g})" for entry in rows],
            shown,
            [[entry["values"][feature] for feature in shown] for entry in rows],
            diverging=True,
            title="Per-row attributions",
        ),
    )


def champion_section(report: dict) -> str:
    compared = report[settings.COMPARISON_KEY]
    metric = compared["metric"]
    deviation = report[settings.REPORT_KEY][metric]["standard_deviation"]
    labels, values, errors = ["this model"], [compared["challenger"]], [deviation]
    if compared["champion"] is not None:
        labels.append(f"champion, version {compared['champion_version']}")
        values.append(compared["champion"])
        errors.append(0.0)
    return _section(
        "Champion comparison",
        compared["summary"] + ".",
        charts.bar_chart(labels, values, errors, metric, title="Champion comparison"),
    )


def bias_sections(bias: dict) -> list[str]:
    gate = bias["gate"]
    verdict = (
        "the quality gate refuses a model beyond them"
        if gate["enforced"]
        else "the quality gate does not refuse a model for them (settings.BIAS_GATE)"
    )
    if not bias["sensitive_features"]:
        return [_section("Bias", gate["summary"] + ".")]
    sections = []
    for feature in bias["sensitive_features"]:
        found = feature["groups"]
        metrics = [key for key in found[0] if key not in ("group", "size", "compared")]
        disparities = _table(
            ["disparity", "value", "threshold"],
            [
                [name, _number(check["value"]), f"{check['threshold']:g}"]
                for name, check in feature["disparities"].items()
            ],
            ["" if check["within"] else "beyond" for check in feature["disparities"].values()],
        )
        sizes = ", ".join(f"{group['group']}: {group['size']}" for group in found)
        sections.append(
            _section(
                f"Bias: {feature['feature']}",
                f"Groups by {feature['grouping']} (rows: {sizes}); groups of fewer than "
                f"{bias['min_group_size']} rows are shown but not compared. {gate['summary']}; "
                f"{verdict}.",
                charts.column_chart(
                    [group["group"] for group in found],
                    {metric: [group[metric] for group in found] for metric in metrics},
                    title=f"Bias: {feature['feature']}",
                ),
                disparities,
            )
        )
    return sections


def render(report: dict, curves: dict, explanations: dict, bias: dict, title: str) -> str:
    """The whole page: the metrics, then one section per chart."""
    metrics = report[settings.REPORT_KEY]
    table = _table(
        ["metric", "value", "standard deviation"],
        [
            [name, _number(entry["value"]), _number(entry["standard_deviation"])]
            for name, entry in metrics.items()
            if isinstance(entry, dict) and "value" in entry
        ],
    )
    sections = [
        *performance_sections(report, curves),
        importance_section(explanations),
        attribution_section(explanations),
        champion_section(report),
        *bias_sections(bias),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{table}{''.join(sections)}</body></html>\n"
    )
