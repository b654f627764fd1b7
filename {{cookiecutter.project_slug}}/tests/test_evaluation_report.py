"""What Evaluate writes beside evaluation.json: explanations, bias, and the page drawing them."""

import json
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data import schema
from {{ cookiecutter.package_name }}.evaluate import bias, card, curves, explain
from {{ cookiecutter.package_name }}.evaluate.__main__ import main as evaluate_entry
from {{ cookiecutter.package_name }}.evaluate.documents import evaluation
from {{ cookiecutter.package_name }}.infer.handler import Model, model_fn
from {{ cookiecutter.package_name }}.train.core import features_and_target

CLASSIFIES = settings.PROBLEM_TYPE == "binary_classification"
SENSITIVE = schema.FEATURES[0]


@pytest.fixture(autouse=True)
def empty_local_registry(tmp_path, monkeypatch):
    """No champion: test_champion.py covers comparing with one."""
    monkeypatch.setenv(settings.LOCAL_REGISTRY_VARIABLE, str(tmp_path / "registry"))


@pytest.fixture(scope="module")
def found(model_dir, splits):
    return evaluation(model_fn(str(model_dir)), splits["test"], None)


class FirstFeatureOnly:
    """An estimator that predicts from the first feature alone, as the target was made."""

    def fit(self, features, target):
        return self

    def predict_proba(self, features):
        probability = 1 / (1 + np.exp(-features[:, 0]))
        return np.column_stack([1 - probability, probability])

    def predict(self, features):
        return features[:, 0] * 2.0


def frame_from_first_feature(rows: int = 200) -> pd.DataFrame:
    """Random features; the target a function of the first alone."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(rows, len(schema.FEATURES))), columns=schema.FEATURES)
    first = frame[SENSITIVE]
    frame[schema.TARGET] = (first > 0).astype(int) if CLASSIFIES else first * 2.0
    return frame


def test_importance_is_the_drop_of_the_features_the_model_uses_and_zero_for_the_rest():
    model = Model(FirstFeatureOnly(), settings.PROBLEM_TYPE, schema.FEATURES)
    features, truth = features_and_target(frame_from_first_feature())
    ranked = explain.feature_importance(model, features, truth)
    assert ranked[0]["feature"] == SENSITIVE and ranked[0]["importance"] > 0.1
    for entry in ranked[1:]:
        assert entry == {"feature": entry["feature"], "importance": 0.0, "standard_deviation": 0.0}


def test_attributions_add_up_to_the_models_output(found, model_dir, splits):
    attributions = found.explanations["attributions"]
    rows = attributions["rows"]
    assert len(rows) == min(settings.ATTRIBUTED_ROWS, len(splits["test"]))
    features, _ = features_and_target(splits["test"])
    outputs = explain.model_output(model_fn(str(model_dir)), features)
    for row in rows:
        assert set(row["values"]) == set(schema.FEATURES)
        assert row["output"] == pytest.approx(outputs[row["test_row"]], rel=1e-6)
        total = attributions["base_value"] + sum(row["values"].values())
        assert total == pytest.approx(row["output"], rel=1e-4, abs=1e-5)


def test_importance_is_ranked_and_covers_every_feature(found):
    ranked = found.explanations["feature_importance"]["features"]
    assert sorted(entry["feature"] for entry in ranked) == sorted(schema.FEATURES)
    importances = [entry["importance"] for entry in ranked]
    assert importances == sorted(importances, reverse=True)
    assert settings.PRIMARY_METRIC in found.explanations["feature_importance"]["method"]


def test_rows_are_grouped_by_bins_or_codes_and_missing_values_apart():
    values = np.array([10.0, 40.0, 59.9, 60.0, np.nan, 75.0])
    binned = bias.groups(values, (40, 60))
    assert {label: rows.nonzero()[0].tolist() for label, rows in binned.items()} == {
        "under 40": [0],
        "40 to under 60": [1, 2],
        "60 or over": [3, 5],
        "missing": [4],
    }
    coded = bias.groups(np.array([1.0, 2.0, 1.0]), ())
    assert {label: rows.nonzero()[0].tolist() for label, rows in coded.items()} == {
        "1": [0, 2],
        "2": [1],
    }


def two_groups(monkeypatch) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Groups 1 and 2 of the sensitive feature, four rows each, with known metrics."""
    monkeypatch.setattr(schema, "SENSITIVE_FEATURES", {SENSITIVE: ()})
    monkeypatch.setattr(settings, "BIAS_MIN_GROUP_SIZE", 4)
    frame = pd.DataFrame(0.0, index=range(8), columns=schema.FEATURES)
    frame[SENSITIVE] = [1, 1, 1, 1, 2, 2, 2, 2]
{%- if cookiecutter.problem_type == "binary_classification" %}
    truth = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    predicted = np.array([0.9, 0.8, 0.7, 0.2, 0.9, 0.1, 0.2, 0.1])
{%- else %}
    truth = np.array([10.0, 20.0, 10.0, 20.0, 10.0, 20.0, 10.0, 20.0])
    predicted = np.array([12.0, 22.0, 12.0, 22.0, 6.0, 16.0, 6.0, 16.0])
{%- endif %}
    return frame, truth, predicted


def test_group_metrics_and_disparities_are_exact(monkeypatch):
    assessment = bias.assess(*two_groups(monkeypatch))
    [feature] = assessment["sensitive_features"]
    first, second = feature["groups"]
    assert (first["group"], first["size"], second["group"], second["size"]) == ("1", 4, "2", 4)
    disparities = {name: check["value"] for name, check in feature["disparities"].items()}
{%- if cookiecutter.problem_type == "binary_classification" %}
    assert first["positive_rate"] == 0.75 and second["positive_rate"] == 0.25
    assert first["true_positive_rate"] == 1.0 and second["true_positive_rate"] == 0.5
    assert first["false_positive_rate"] == 0.5 and second["false_positive_rate"] == 0.0
    assert first["base_rate"] == second["base_rate"] == 0.5
    assert disparities == {
        "positive_rate_difference": 0.5,
        "true_positive_rate_difference": 0.5,
        "false_positive_rate_difference": 0.5,
    }
{%- else %}
    assert first["mean_absolute_error"] == 2.0 and second["mean_absolute_error"] == 4.0
    assert first["mean_residual"] == 2.0 and second["mean_residual"] == -4.0
    # The residuals' spread (6) in units of the compared rows' mean absolute error (3).
    assert disparities == {"error_ratio": 2.0, "mean_residual_difference": 2.0}
{%- endif %}


def test_the_bias_gate_refuses_only_when_enforced(monkeypatch):
    cases = two_groups(monkeypatch)
    advised = bias.assess(*cases)["gate"]
    assert advised["within_thresholds"] is False and advised["passes"] is True
    assert advised["summary"].startswith(f"disparity beyond the thresholds: {SENSITIVE} ")
    monkeypatch.setattr(settings, "BIAS_GATE", True)
    enforced = bias.assess(*cases)["gate"]
    assert enforced["enforced"] is True and enforced["passes"] is False
    monkeypatch.setattr(settings, "BIAS_THRESHOLDS", dict.fromkeys(settings.BIAS_THRESHOLDS, 9.0))
    assert bias.assess(*cases)["gate"]["passes"] is True


def test_groups_below_the_minimum_size_are_shown_but_not_compared(monkeypatch):
    frame, truth, predicted = two_groups(monkeypatch)
    monkeypatch.setattr(settings, "BIAS_MIN_GROUP_SIZE", 5)
    [feature] = bias.assess(frame, truth, predicted)["sensitive_features"]
    assert [group["compared"] for group in feature["groups"]] == [False, False]
    assert all(check["value"] is None for check in feature["disparities"].values())
    assert feature["within_thresholds"] is True


def test_no_sensitive_feature_says_so(monkeypatch):
    frame, truth, predicted = two_groups(monkeypatch)
    monkeypatch.setattr(schema, "SENSITIVE_FEATURES", {})
    gate = bias.assess(frame, truth, predicted)["gate"]
    assert gate["summary"].startswith("no feature is declared sensitive")
    assert gate["passes"] is True
{%- if cookiecutter.problem_type == "binary_classification" %}


def test_curves_have_the_known_points_and_area():
    truth, probability = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    drawn = curves.curves(truth, probability)
    roc = drawn["roc"]
    assert roc["false_positive_rate"] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert roc["true_positive_rate"] == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert np.trapezoid(roc["true_positive_rate"], roc["false_positive_rate"]) == 0.75
    assert drawn["precision_recall"]["average_precision"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert drawn["precision_recall"]["base_rate"] == 0.5
{%- else %}


def test_curves_have_the_known_points_and_residuals():
    truth, prediction = np.array([3.0, 1.0, 2.0, 4.0]), np.array([3.0, 1.0, 2.0, 6.0])
    drawn = curves.curves(truth, prediction)
    assert drawn["predicted_actual"] == {
        "actual": [1.0, 2.0, 3.0, 4.0],
        "predicted": [1.0, 2.0, 3.0, 6.0],
    }
    residuals = drawn["residuals"]
    assert sum(residuals["counts"]) == 4 and residuals["counts"][0] == 3
    assert residuals["counts"][-1] == 1
    assert residuals["bin_edges"][0] == 0.0 and residuals["bin_edges"][-1] == 2.0
{%- endif %}


def test_long_curves_are_thinned_keeping_both_ends():
    xs = np.arange(10_000, dtype=float)
    [thinned] = curves.thinned(xs)
    assert len(thinned) == curves.MAX_POINTS
    assert thinned[0] == 0.0 and thinned[-1] == 9_999.0


class Sections(HTMLParser):
    """Each <section>'s heading and the number of <svg> charts in it."""

    def __init__(self):
        super().__init__()
        self.found: list[list] = []
        self.heading = False

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.found.append(["", 0])
        elif tag == "h2":
            self.heading = True
        elif tag == "svg" and self.found:
            self.found[-1][1] += 1

    def handle_endtag(self, tag):
        self.heading = self.heading and tag != "h2"

    def handle_data(self, data):
        if self.heading:
            self.found[-1][0] += data


def sections(page: str) -> dict[str, int]:
    parser = Sections()
    parser.feed(page)
    return dict(parser.found)


def test_the_page_holds_one_chart_per_section(found):
    expected = [
{%- if cookiecutter.problem_type == "binary_classification" %}
        "ROC curve",
        "Precision-recall curve",
        "Confusion matrix",
        "Calibration",
{%- else %}
        "Predicted against actual",
        "Residuals",
{%- endif %}
        "Feature importance",
        "Per-row attributions",
        "Champion comparison",
    ]
    charted = sections(found.page)
    assert list(charted)[: len(expected)] == expected
    bias_sections = list(charted)[len(expected) :]
    if schema.SENSITIVE_FEATURES:
        assert bias_sections == [f"Bias: {name}" for name in schema.SENSITIVE_FEATURES]
    else:
        assert bias_sections == ["Bias"]
        assert "no feature is declared sensitive" in found.page
    for title, charts in charted.items():
        assert charts == (0 if title == "Bias" else 1), title
    # Each chart is well-formed SVG, and the page fetches nothing.
    for chart in found.page.split("<svg")[1:]:
        ElementTree.fromstring("<svg" + chart.split("</svg>")[0] + "</svg>")
    assert "http://" not in found.page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in found.page


def test_the_page_shows_each_sensitive_features_groups(monkeypatch, model_dir, splits):
    edges = (float(splits["test"][SENSITIVE].median()),)
    monkeypatch.setattr(schema, "SENSITIVE_FEATURES", {SENSITIVE: edges})
    monkeypatch.setattr(settings, "BIAS_MIN_GROUP_SIZE", 1)
    page = evaluation(model_fn(str(model_dir)), splits["test"], None).page
    assert sections(page)[f"Bias: {SENSITIVE}"] == 1
    assert f"under {edges[0]:g}" in page and f"{edges[0]:g} or over" in page


def test_the_entry_point_writes_its_files_together(tmp_path, model_dir, splits, capsys):
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    splits["test"].to_csv(test_dir / "test.csv", index=False)
    output = tmp_path / "evaluation"
    args = ["--model-dir", str(model_dir), "--test-dir", str(test_dir), "--output-dir", str(output)]
    assert evaluate_entry(args) == 0
    assert sorted(path.name for path in output.iterdir()) == sorted(
        [
            settings.REPORT_FILE,
            settings.EXPLAINABILITY_FILE,
            settings.BIAS_FILE,
            settings.EVALUATION_PAGE,
            card.CARD_FILE,
        ]
    )
    bias_report = json.loads((output / settings.BIAS_FILE).read_text())
    assert f"evaluate: {bias_report['gate']['summary']}" in capsys.readouterr().out
