"""Compare captured traffic with the baseline: one verdict per feature and check.

Checks, each against its threshold in `settings.DRIFT_THRESHOLDS`:
- distribution (per feature): the Jensen-Shannon distance (base 2, from 0 for the same
  distribution to 1 for disjoint ones) between the training shares and the traffic's shares of
  the baseline's bins (numeric) or codes (categorical, unseen codes pooled in one bin). It is
  bounded and symmetric, and unlike a test's p-value it does not flag every tiny shift once the
  traffic runs to millions of rows. Below `settings.DRIFT_MIN_ROWS` rows it is skipped.
  Computed with numpy, as scipy.spatial.distance.jensenshannon does (the tests pin the two
  together): importing scipy would take longer than the check of a day's traffic.
- missing_values (per feature): how much the share of rows without a value rose.
- unseen_categories (per categorical feature): the share of codes training never saw.
- invalid_values (per feature): the share of values that are not finite numbers.
- schema: the share of rows that do not fit the schema (other values or feature names, or a
  body no row could be read from).
- prediction: the distribution distance of the predictions from those on the test set.

The traffic arrives in chunks (`capture.chunks`), and a `Tally` counts each against the
baseline's bins as it comes: memory holds the counts and one chunk, however much traffic a
check reads.
"""

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .. import settings
from .baseline import bin_counts, code_label
from .capture import Traffic

DRIFT, OK, SKIPPED = "drift", "ok", "skipped"
UNSEEN = "unseen"
DISTANCE = "jensen_shannon_distance"


@dataclass(frozen=True)
class Check:
    """One check's result; `feature` is None for the checks of whole rows and predictions."""

    feature: str | None
    check: str
    statistic: str
    value: float | None
    threshold: float
    verdict: str
    detail: str
    # Distribution checks: the bins' labels and both sets of shares, for the report's plots.
    bins: list[str] = field(default_factory=list)
    baseline_shares: list[float] = field(default_factory=list)
    captured_shares: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class DriftResult:
    checks: list[Check]
    rows: int
    requests_unread: int

    @property
    def drifted(self) -> list[Check]:
        return [check for check in self.checks if check.verdict == DRIFT]

    @property
    def score(self) -> float:
        """The largest statistic as a multiple of its threshold: 1 or more means drift."""
        ratios = [
            check.value / check.threshold
            for check in self.checks
            if check.verdict != SKIPPED and check.threshold > 0
        ]
        return max(ratios, default=0.0)


@dataclass
class Tally:
    """What the checks need of the traffic, counted chunk by chunk against `baseline`'s bins:
    per numeric feature and for the predictions, the values in each bin; per categorical
    feature, the values of each code."""

    baseline: dict
    rows: int = 0  # rows of readable requests, those off the schema included
    valued_rows: int = 0  # rows with every feature of the schema: those the feature checks see
    off_schema_rows: int = 0
    unreadable_requests: int = 0
    unexpected_features: Counter = field(default_factory=Counter)
    missing: Counter = field(default_factory=Counter)
    invalid: Counter = field(default_factory=Counter)
    counts: dict = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, baseline: dict, chunks: Iterable[Traffic]) -> "Tally":
        tally = cls(baseline)
        for chunk in chunks:
            tally.add(chunk)
        return tally

    def add(self, traffic: Traffic) -> None:
        self.rows += traffic.rows
        self.valued_rows += traffic.valued_rows
        self.off_schema_rows += traffic.off_schema_rows
        self.unreadable_requests += traffic.unreadable_requests
        self.unexpected_features.update(traffic.unexpected_features)
        self.missing.update(traffic.missing)
        self.invalid.update(traffic.invalid)
        self.sources += [source for source in traffic.sources if source not in self.sources]
        for name, profile in self.baseline["features"].items():
            self._count(name, profile, traffic.values[name])
        self._count(None, self.baseline["prediction"], traffic.predictions)

    def _count(self, name: str | None, profile: dict, values: np.ndarray) -> None:
        present = values[~np.isnan(values)]
        if profile["kind"] == "categorical":
            counted = self.counts.setdefault(name, Counter())
            counted.update(code_label(value) for value in present)
            return
        self.counts[name] = self.counts.get(name, 0) + bin_counts(present, profile["edges"])


def jensen_shannon_distance(expected, observed) -> float:
    """The square root of the Jensen-Shannon divergence (base 2) of two sets of shares."""
    p, q = np.asarray(expected, dtype=float), np.asarray(observed, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    middle = (p + q) / 2

    def divergence(shares: np.ndarray) -> float:
        present = shares > 0
        return float(np.sum(shares[present] * np.log2(shares[present] / middle[present])))

    return float(np.sqrt(max((divergence(p) + divergence(q)) / 2, 0.0)))


def _verdict(value: float, threshold: float) -> str:
    return DRIFT if value > threshold else OK


def _share_check(feature, check, value, threshold, detail) -> Check:
    return Check(feature, check, "share", value, threshold, _verdict(value, threshold), detail)


def _distance_check(feature, check, threshold, bins, expected, observed, count, min_rows):
    if count < max(min_rows, 1):
        detail = f"{count} value(s), fewer than the {min_rows} a distance needs"
        return Check(feature, check, DISTANCE, None, threshold, SKIPPED, detail)
    value = jensen_shannon_distance(expected, observed)
    return Check(
        feature,
        check,
        DISTANCE,
        value,
        threshold,
        _verdict(value, threshold),
        f"{count} values",
        bins=bins,
        baseline_shares=[float(share) for share in expected],
        captured_shares=[float(share) for share in observed],
    )


def _bin_labels(edges: list[float]) -> list[str]:
    shown = [f"{edge:.4g}" for edge in edges]
    if not shown:
        return ["all"]
    inner = [f"{low} to {high}" for low, high in itertools.pairwise(shown)]
    return [f"< {shown[0]}", *inner, f">= {shown[-1]}"]


def _numeric_distance(feature, check, profile, counted, threshold, min_rows) -> Check:
    """`counted`: the values in each of the profile's bins."""
    count = int(np.sum(counted))
    return _distance_check(
        feature,
        check,
        threshold,
        _bin_labels(profile["edges"]),
        profile["shares"],
        np.asarray(counted) / max(count, 1),
        count,
        min_rows,
    )


def _categorical_checks(name, profile, labels, thresholds, threshold, min_rows) -> list[Check]:
    """`labels`: the values of each code seen."""
    codes = list(profile["codes"])
    counts = {code: 0 for code in [*codes, UNSEEN]}
    for label, count in labels.items():
        counts[label if label in profile["codes"] else UNSEEN] += count
    total = max(sum(labels.values()), 1)
    unseen = sorted(label for label in labels if label not in profile["codes"])
    shown = ", ".join(unseen[:5]) + (" ..." if len(unseen) > 5 else "")
    return [
        _distance_check(
            name,
            "distribution",
            threshold,
            [*codes, UNSEEN],
            [*profile["codes"].values(), 0.0],
            [counts[code] / total for code in counts],
            sum(labels.values()),
            min_rows,
        ),
        _share_check(
            name,
            "unseen_categories",
            counts[UNSEEN] / total,
            thresholds["unseen_categories"],
            f"codes training never saw: {shown}" if unseen else "every code seen in training",
        ),
    ]


def compare(
    baseline: dict,
    traffic: Tally,
    thresholds: dict[str, float] = settings.DRIFT_THRESHOLDS,
    feature_thresholds: dict[str, float] = settings.FEATURE_DRIFT_THRESHOLDS,
    min_rows: int = settings.DRIFT_MIN_ROWS,
) -> DriftResult:
    """Every check of the tallied `traffic` against `baseline`, features in baseline order."""
    checks = []
    rows = max(traffic.valued_rows, 1)
    for name, profile in baseline["features"].items():
        counted = traffic.counts.get(name, Counter() if profile["kind"] == "categorical" else 0)
        threshold = feature_thresholds.get(name, thresholds["distribution"])
        if profile["kind"] == "categorical":
            checks += _categorical_checks(name, profile, counted, thresholds, threshold, min_rows)
        else:
            checks.append(
                _numeric_distance(name, "distribution", profile, counted, threshold, min_rows)
            )
        missing = traffic.missing[name] / rows
        checks.append(
            _share_check(
                name,
                "missing_values",
                max(missing - profile["missing"], 0.0),
                thresholds["missing_values"],
                f"{missing:.1%} missing, {profile['missing']:.1%} in training",
            )
        )
        checks.append(
            _share_check(
                name,
                "invalid_values",
                traffic.invalid[name] / rows,
                thresholds["invalid_values"],
                f"{traffic.invalid[name]} not a finite number",
            )
        )
    read = traffic.rows + traffic.unreadable_requests
    off_schema = traffic.off_schema_rows + traffic.unreadable_requests
    unknown = ", ".join(f"{name} ({count})" for name, count in traffic.unexpected_features.items())
    detail = f"{off_schema} of {read} rows" + (f"; unknown features: {unknown}" if unknown else "")
    share = off_schema / max(read, 1)
    checks.append(_share_check(None, "schema", share, thresholds["schema"], detail))
    checks.append(
        _numeric_distance(
            None,
            "prediction",
            baseline["prediction"],
            traffic.counts.get(None, 0),
            thresholds["prediction"],
            min_rows,
        )
    )
    return DriftResult(checks, traffic.rows, traffic.unreadable_requests)
