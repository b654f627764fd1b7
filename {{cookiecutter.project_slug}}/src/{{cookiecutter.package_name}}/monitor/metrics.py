"""The drift check's CloudWatch metrics, which the alarms of infra/monitoring.yml watch.

Per endpoint (dimension EndpointName) or scoring pipeline (dimension PipelineName): DriftScore
(the largest statistic as a multiple of its threshold, so 1 or more is drift), RowsChecked,
PredictionDrift, and FeatureDrift per feature (dimension Feature too), each a distribution
distance.
"""

from datetime import datetime

from .drift import DriftResult

BATCH = 1000  # the most data points PutMetricData takes at once


def metric_data(result: DriftResult, source: tuple[str, str], timestamp: datetime) -> list[dict]:
    """The data points of one check; `source` is the dimension naming what was checked, e.g.
    ("EndpointName", <endpoint>)."""
    source_dimension = {"Name": source[0], "Value": source[1]}

    def datum(name: str, value: float, unit: str = "None", feature: str | None = None) -> dict:
        dimensions = [source_dimension]
        if feature is not None:
            dimensions.append({"Name": "Feature", "Value": feature})
        return {
            "MetricName": name,
            "Dimensions": dimensions,
            "Timestamp": timestamp,
            "Value": float(value),
            "Unit": unit,
        }

    data = [datum("DriftScore", result.score), datum("RowsChecked", result.rows, "Count")]
    for check in result.checks:
        if check.value is None:
            continue
        if check.check == "prediction":
            data.append(datum("PredictionDrift", check.value))
        elif check.check == "distribution":
            data.append(datum("FeatureDrift", check.value, feature=check.feature))
    return data


def publish(cloudwatch_client, namespace: str, data: list[dict]) -> None:
    for start in range(0, len(data), BATCH):
        cloudwatch_client.put_metric_data(
            Namespace=namespace, MetricData=data[start : start + BATCH]
        )
