"""The monitor: a deterministic baseline, and a drift check that finds each kind of drift in
the drifted sample capture and none in the clean one, read from files or S3."""

import base64
import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from conftest import require_sdk

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.data import schema
from {{ cookiecutter.package_name }}.monitor import baseline, capture, drift, metrics, report, samples
from {{ cookiecutter.package_name }}.monitor.__main__ import main
from {{ cookiecutter.package_name }}.pipeline import local

KINDS_INJECTED = {"distribution", "missing_values", "invalid_values", "schema", "prediction"}
if schema.CATEGORICAL_FEATURES:  # the sample data has a categorical feature to give a new code
    KINDS_INJECTED.add("unseen_categories")


@pytest.fixture(scope="session")
def local_run(tmp_path_factory, no_sdk_telemetry):
    """One local run of the sample data, as `make run-local` makes it."""
    require_sdk()
    root = tmp_path_factory.mktemp("local")
    given, config = {"QualityThreshold": "0"}, settings.load({**os.environ, "BRANCH_NAME": "main"})
    return local.run(settings.SAMPLE_DATA, root / "runs", root / "registry", given, config)


@pytest.fixture(scope="session")
def profile(local_run):
    return baseline.load(local_run.baseline_path)


@pytest.fixture(scope="session")
def sample_captures(local_run, tmp_path_factory):
    """The sample captures as the model under test answers them (`make sample-captures`): the
    shipped ones belong to the model that made them, which an edit to the model replaces."""
    folder = tmp_path_factory.mktemp("capture")
    paths = {kind: folder / kind / "capture.jsonl" for kind in ("clean", "drifted")}
    return samples.write(local_run.model_dir, paths)


def check(profile, source, **options):
    return drift.compare(profile, drift.Tally.of(profile, capture.chunks(str(source), **options)))


def read(source, **options) -> dict:
    """Every chunk of the traffic, as one: each field summed, values and predictions joined."""
    chunks = list(capture.chunks(str(source), **options))
    counted = ("rows", "off_schema_rows", "unreadable_requests", "valued_rows")
    merged = {name: sum(getattr(chunk, name) for chunk in chunks) for name in counted}
    for name in ("unexpected_features", "missing", "invalid"):
        merged[name] = sum((Counter(getattr(chunk, name)) for chunk in chunks), Counter())
    merged["values"] = {
        feature: np.concatenate([chunk.values[feature] for chunk in chunks])
        for feature in schema.FEATURES
    }
    merged["predictions"] = np.concatenate([chunk.predictions for chunk in chunks])
    merged["sources"] = list(dict.fromkeys(s for chunk in chunks for s in chunk.sources))
    return merged


def capture_line(body, content_type="text/csv", output=None, when="2026-11-30T10:00:00Z"):
    """One data-capture record as SageMaker writes it."""
    encoding = "CSV" if content_type == "text/csv" else "JSON"
    data = {
        "endpointInput": {
            "observedContentType": content_type,
            "mode": "INPUT",
            "data": body,
            "encoding": encoding,
        }
    }
    if output is not None:
        data["endpointOutput"] = {
            "observedContentType": content_type,
            "mode": "OUTPUT",
            "data": output,
            "encoding": encoding,
        }
    record = {
        "captureData": data,
        "eventMetadata": {"eventId": "e", "inferenceTime": when},
        "eventVersion": "0",
    }
    return json.dumps(record)


def sample_rows(count: int) -> list[list[str]]:
    lines = settings.SAMPLE_DATA.read_text().splitlines()
    header = lines[0].split(",")
    columns = [header.index(name) for name in schema.FEATURES]
    return [[line.split(",")[column] for column in columns] for line in lines[1 : count + 1]]


def test_the_baseline_is_deterministic(local_run, tmp_path):
    arguments = [
        "baseline",
        "--train-dir",
        local_run.split_dirs["train"],
        "--test-dir",
        local_run.split_dirs["test"],
        "--model-dir",
        local_run.model_dir,
    ]
    for name in ("first", "second"):
        assert main([str(arg) for arg in [*arguments, "--output-dir", tmp_path / name]]) == 0
    first = (tmp_path / "first" / baseline.BASELINE_FILE).read_bytes()
    assert first == (tmp_path / "second" / baseline.BASELINE_FILE).read_bytes()
    assert first == local_run.baseline_path.read_bytes()


def test_a_large_split_is_profiled_on_a_uniform_sample(local_run, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "SAMPLED_ROWS", 50)
    arguments = [
        "baseline",
        *("--train-dir", local_run.split_dirs["train"], "--test-dir", local_run.split_dirs["test"]),
        *("--model-dir", local_run.model_dir, "--output-dir", tmp_path),
    ]
    assert main([str(arg) for arg in arguments]) == 0
    sampled = baseline.load(tmp_path / baseline.BASELINE_FILE)
    whole = baseline.load(local_run.baseline_path)
    assert (sampled["rows"], sampled["profiled_rows"]) == (whole["rows"], 50)
    assert sampled["features"] != whole["features"]
    assert list(sampled["features"]) == list(whole["features"])


def test_the_baseline_profiles_every_feature_and_the_predictions(profile):
    assert list(profile["features"]) == list(schema.FEATURES)
    for name, feature in profile["features"].items():
        if name in schema.CATEGORICAL_FEATURES:
            assert feature["kind"] == "categorical"
            assert sum(feature["codes"].values()) == pytest.approx(1)
        else:
            assert feature["kind"] == "numeric"
            assert feature["edges"] == sorted(feature["edges"])
            assert len(feature["shares"]) == len(feature["edges"]) + 1
            assert sum(feature["shares"]) == pytest.approx(1)
    prediction = profile["prediction"]
    assert prediction["field"] == baseline.prediction_field()
    assert len(prediction["shares"]) <= baseline.PREDICTION_BINS


def test_the_clean_capture_shows_no_drift(profile, sample_captures):
    result = check(profile, sample_captures["clean"])
    assert result.drifted == [], [(c.feature, c.check, c.value) for c in result.drifted]
    assert result.score < 1
    assert not [c for c in result.checks if c.verdict == drift.SKIPPED]


def test_the_drifted_capture_shows_each_kind_of_drift(profile, sample_captures):
    result = check(profile, sample_captures["drifted"])
    assert {c.check for c in result.drifted} == KINDS_INJECTED
    assert result.score > 1
    schema_check = next(c for c in result.drifted if c.check == "schema")
    assert "extra_0" in schema_check.detail


def test_a_new_category_is_found_whatever_the_sample_data(profile):
    """The categorical checks on a feature declared categorical, in any project."""
    name = schema.FEATURES[0]
    categorical = {
        **profile,
        "features": {
            **profile["features"],
            name: {"kind": "categorical", "missing": 0.0, "codes": {"1": 0.5, "2": 0.5}},
        },
    }
    rows = sample_rows(200)
    for number, row in enumerate(rows):
        row[0] = "1" if number % 2 else ("2" if number % 4 else "7")
    traffic = capture._Collector()
    for row in rows:
        traffic.add_request("text/csv", ",".join(row), None, None)
    result = drift.compare(categorical, drift.Tally.of(categorical, [traffic.traffic()]))
    unseen = next(c for c in result.checks if c.feature == name and c.check == "unseen_categories")
    assert unseen.verdict == drift.DRIFT and unseen.value == pytest.approx(0.25)
    assert "7" in unseen.detail


def test_requests_in_both_content_types_parse(tmp_path):
    rows = sample_rows(3)
    numbers = [[float(value) for value in row] for row in rows]
    field = baseline.prediction_field()
    csv_output = "1,0.75" if field == "probability" else "0.75"
    json_output = json.dumps({"predictions": [{field: 0.25}, {field: 0.5}]})
    encoded = base64.b64encode(",".join(rows[2]).encode()).decode()
    lines = [
        capture_line(",".join(rows[0]), output=csv_output),
        capture_line(json.dumps({"instances": numbers[:2]}), "application/json", json_output),
        capture_line(
            json.dumps(dict(zip(schema.FEATURES, numbers[0], strict=True))), "application/json"
        ),
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "data": encoded,
                        "encoding": "BASE64",
                    }
                },
                "eventMetadata": {"inferenceTime": "2026-11-30T10:00:00Z"},
            }
        ),
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(lines) + "\n")
    traffic = read(path)
    assert traffic["rows"] == 5 and traffic["off_schema_rows"] == 0
    first = schema.FEATURES[0]
    expected = [numbers[0][0], numbers[0][0], numbers[1][0], numbers[0][0], numbers[2][0]]
    assert sorted(traffic["values"][first]) == sorted(expected)
    assert sorted(traffic["predictions"]) == [0.25, 0.5, 0.75]


def test_rows_off_the_schema_and_bad_values_are_counted(tmp_path):
    row = sample_rows(1)[0]
    width = len(schema.FEATURES)
    lines = [
        capture_line(",".join([*row, "1"])),  # one value too many
        capture_line(
            json.dumps({**dict(zip(schema.FEATURES, row, strict=True)), "id": 7}),
            "application/json",
        ),  # an unknown feature: the values still count
        capture_line(",".join(["abc", *row[1:]])),  # not a number
        capture_line(json.dumps([[True] * width]), "application/json"),  # flags, not numbers
        capture_line(",".join(["", *row[1:]])),  # a missing value
        capture_line("{not json", "application/json"),  # a body no row can be read from
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(lines))
    traffic = read(path)
    first = schema.FEATURES[0]
    assert traffic["unreadable_requests"] == 1
    assert traffic["off_schema_rows"] == 2
    assert traffic["unexpected_features"] == {"id": 1}
    assert traffic["valued_rows"] == 4
    assert traffic["missing"][first] == 1
    assert traffic["invalid"][first] == 2  # "abc" and true
    assert traffic["invalid"][schema.FEATURES[1]] == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"captureData": ', "line 3: not JSON"),
        ('{"eventVersion": "0"}', "line 3: not a SageMaker data-capture record"),
        (
            '{"captureData": {"endpointInput": {"data": "%%%", "encoding": "BASE64"}}}',
            "line 3: its BASE64 data does not decode",
        ),
    ],
)
def test_a_malformed_capture_line_is_named(tmp_path, profile, line, problem, capsys):
    path = tmp_path / "capture.jsonl"
    good = capture_line(",".join(sample_rows(1)[0]))
    path.write_text("\n".join([good, "", line, good]) + "\n")
    with pytest.raises(capture.CaptureError, match=problem) as error:
        read(path)
    assert str(path) in str(error.value)
    output = tmp_path / "report"
    arguments = ["check", "--baseline", str(tmp_path / "baseline.json"), "--capture", str(path)]
    (tmp_path / "baseline.json").write_text(json.dumps(profile))
    assert main([*arguments, "--output-dir", str(output)]) == 2
    error_lines = capsys.readouterr().err.strip().splitlines()
    assert len(error_lines) == 1 and problem in error_lines[0] and str(path) in error_lines[0]
    assert not output.exists()  # nothing half-written


def test_the_check_writes_both_reports_or_neither(profile, sample_captures, tmp_path, monkeypatch):
    result = check(profile, sample_captures["drifted"])
    violations = report.violations(result, {"capture": "drifted"})
    json_path, html_path = report.write(tmp_path / "done", violations, result)
    written = json.loads(json_path.read_text())
    entry = next(c for c in written["checks"] if c["verdict"] == drift.DRIFT)
    assert {"feature", "check", "statistic", "value", "threshold", "verdict"} <= set(entry)
    page = html_path.read_text()
    assert page.count("<svg") == len([c for c in result.drifted if c.bins]) > 0
    with pytest.raises(report.ReportError, match="never overwritten"):
        report.write(tmp_path / "done", violations, result)
    assert json_path.read_text() == json.dumps(violations, indent=2) + "\n"

    def broken_page(*_):
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(report, "page", broken_page)
    with pytest.raises(RuntimeError):
        report.write(tmp_path / "failed", violations, result)
    assert not (tmp_path / "failed").exists()


def test_an_existing_report_is_refused_before_any_traffic_is_read(
    profile, sample_captures, tmp_path, monkeypatch, capsys
):
    (tmp_path / "baseline.json").write_text(json.dumps(profile))
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / report.JSON_FILE).write_text("{}")
    monkeypatch.setattr(capture, "chunks", lambda *_, **__: pytest.fail("traffic was read"))
    arguments = ["check", "--baseline", str(tmp_path / "baseline.json")]
    arguments += ["--capture", str(sample_captures["clean"])]
    assert main([*arguments, "--output-dir", str(tmp_path / "report")]) == 2
    assert "drift.json exists: a report is never overwritten" in capsys.readouterr().err
    assert (tmp_path / "report" / report.JSON_FILE).read_text() == "{}"


def test_fail_on_drift_sets_the_exit_status(local_run, sample_captures, tmp_path, capsys):
    def run(kind, *extra):
        arguments = [
            "check",
            "--baseline",
            local_run.baseline_path,
            "--capture",
            sample_captures[kind],
            "--output-dir",
            tmp_path / f"{kind}{len(extra)}",
            *extra,
        ]
        return main([str(argument) for argument in arguments])

    assert run("clean", "--fail-on-drift") == 0
    assert run("drifted") == 0
    assert run("drifted", "--fail-on-drift") == 1
    output = capsys.readouterr().out
    assert "no drift" in output and "drift in" in output


def test_the_newest_local_run_is_the_default_baseline(
    local_run, sample_captures, monkeypatch, tmp_path
):
    monkeypatch.setattr(settings, "RUNS_DIR", local_run.run_dir.parent)
    monkeypatch.setattr(settings, "MONITORING_DIR", tmp_path / "monitoring")
    assert main(["check", "--capture", str(sample_captures["clean"])]) == 0
    [report_dir] = (tmp_path / "monitoring").iterdir()
    written = json.loads((report_dir / report.JSON_FILE).read_text())
    assert written["baseline"] == str(local_run.run_dir / local.RUN_BASELINE)


def test_batch_predictions_are_traffic_too(profile, local_run):
    result = check(profile, local_run.predictions_path)
    assert result.rows > 0 and result.drifted == []
    prediction = next(c for c in result.checks if c.check == "prediction")
    assert prediction.verdict != drift.SKIPPED or result.rows < settings.DRIFT_MIN_ROWS


def test_a_scored_batch_folder_is_checked_on_its_features_and_predictions(
    profile, local_run, tmp_path
):
    header, *rows = local_run.predictions_path.read_text().splitlines()
    (tmp_path / "batch" / "b").mkdir(parents=True)
    (tmp_path / "batch" / "a.csv").write_text("\n".join([header, *rows[:10]]) + "\n")
    with_ids = [f"{line},id{number}" for number, line in enumerate(rows[10:])]  # not a feature
    (tmp_path / "batch" / "b" / "c.csv").write_text("\n".join([f"{header},id", *with_ids]))
    (tmp_path / "batch" / "manifest.json").write_text("{}")  # what Score writes beside them
    whole, batch = check(profile, local_run.predictions_path), check(profile, tmp_path / "batch")
    assert batch.rows == whole.rows == len(rows)
    assert [(c.check, c.feature, c.value) for c in batch.checks] == [
        (c.check, c.feature, c.value) for c in whole.checks
    ]


def test_a_csv_read_in_chunks_is_checked_as_one(profile, local_run, monkeypatch):
    whole = check(profile, local_run.predictions_path)
    monkeypatch.setattr(capture, "CHUNK_ROWS", 7)
    assert len(list(capture.chunks(str(local_run.predictions_path)))) > 1
    chunked = check(profile, local_run.predictions_path)
    assert chunked.rows == whole.rows
    assert [(c.check, c.feature, c.value) for c in chunked.checks] == [
        (c.check, c.feature, c.value) for c in whole.checks
    ]


def test_a_quoted_csv_is_checked_as_the_plain_one(profile, local_run, tmp_path):
    import pandas as pd

    quoted = tmp_path / "quoted.csv"
    pd.read_csv(local_run.predictions_path).to_csv(quoted, index=False, quoting=1)  # QUOTE_ALL
    plain, other = check(profile, local_run.predictions_path), check(profile, quoted)
    assert [(c.check, c.feature, c.value) for c in other.checks] == [
        (c.check, c.feature, c.value) for c in plain.checks
    ]


@pytest.mark.parametrize("block", [capture.WIDTH_BLOCK, 100])  # 100: lines cross blocks
@pytest.mark.parametrize("edit", ["longer", "shorter"])
def test_a_csv_line_of_another_width_is_named(
    profile, local_run, tmp_path, monkeypatch, block, edit
):
    monkeypatch.setattr(capture, "WIDTH_BLOCK", block)
    header, *rows = local_run.predictions_path.read_text().splitlines()
    odd = rows[20] + ",7" if edit == "longer" else rows[20].rpartition(",")[0]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join([header, *rows[:20], odd, *rows[21:]]))  # no final line break
    with pytest.raises(capture.CaptureError, match=r"ragged\.csv: line 22 has .* fields but"):
        check(profile, ragged)
    ragged.write_text("\n".join([header, *rows]))
    assert check(profile, ragged).rows == len(rows)


def test_the_metrics_name_what_was_checked(profile, sample_captures, tmp_path, capsys):
    result = check(profile, sample_captures["clean"])
    moment = datetime(2026, 11, 30, tzinfo=UTC)
    data = metrics.metric_data(result, ("PipelineName", "use-case-scoring"), moment)
    assert {datum["Dimensions"][0]["Name"] for datum in data} == {"PipelineName"}
    assert {datum["Dimensions"][0]["Value"] for datum in data} == {"use-case-scoring"}
    (tmp_path / "baseline.json").write_text(json.dumps(profile))
    arguments = ["check", "--capture", str(sample_captures["clean"]), "--metrics-namespace", "x"]
    assert main([*arguments, "--baseline", str(tmp_path / "baseline.json")]) == 2
    error = capsys.readouterr().err
    assert "--metrics-namespace needs --endpoint-name or --pipeline-name" in error


def test_the_distance_is_scipys_jensen_shannon_distance():
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(0)
    for _ in range(20):
        expected, observed = rng.random(10), rng.random(10)
        observed[rng.integers(10)] = 0
        assert drift.jensen_shannon_distance(expected, observed) == pytest.approx(
            jensenshannon(expected, observed, base=2)
        )


def test_the_window_keeps_the_period_asked(tmp_path):
    row = ",".join(sample_rows(1)[0])
    times = [
        "2026-11-30T09:59:59Z",
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:59:59Z",
        "2026-11-30T11:00:00Z",
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(capture_line(row, when=moment) for moment in times))
    window = (datetime(2026, 11, 30, 10, tzinfo=UTC), datetime(2026, 11, 30, 11, tzinfo=UTC))
    assert read(path, window=window)["rows"] == 2


def test_the_scheduled_check_reads_s3_and_publishes_metrics(
    mock_aws, profile, sample_captures, tmp_path
):
    import boto3

    bucket, prefix = "capture-bucket", "use-case/data-capture/prod/endpoint/AllTraffic/"
    s3 = boto3.client("s3", region_name=mock_aws.region)
    s3.create_bucket(Bucket=bucket)
    until = datetime(2026, 11, 30, 12, tzinfo=UTC)
    lines = sample_captures["clean"].read_text().splitlines()
    # The sample's requests, moved into the last 24 hours, one capture file per hour...
    hours: dict[str, list[str]] = {}
    for number, line in enumerate(lines):
        record = json.loads(line)
        made = until - timedelta(hours=24) + timedelta(seconds=number * 24 * 3600 // len(lines))
        record["eventMetadata"]["inferenceTime"] = made.strftime("%Y-%m-%dT%H:%M:%SZ")
        hours.setdefault(f"{made:%Y/%m/%d/%H}", []).append(json.dumps(record))
    for hour, records in hours.items():
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}{hour}/capture.jsonl", Body="\n".join(records).encode()
        )
    # ...and a file of the day before, which the check must leave out.
    s3.put_object(Bucket=bucket, Key=f"{prefix}2026/11/28/12/old.jsonl", Body=lines[0].encode())
    (tmp_path / "baseline.json").write_text(json.dumps(profile))
    arguments = [
        "check",
        "--baseline",
        str(tmp_path / "baseline.json"),
        "--capture",
        f"s3://{bucket}/{prefix}",
        "--hours",
        "24",
        "--until",
        until.isoformat(),
        "--output-dir",
        str(tmp_path / "report"),
        "--region",
        mock_aws.region,
        "--metrics-namespace",
        "use-case/drift",
        "--endpoint-name",
        "use-case-prod",
    ]
    assert main(arguments) == 0
    written = json.loads((tmp_path / "report" / report.JSON_FILE).read_text())
    expected_rows = read(sample_captures["clean"])["rows"]
    assert written["rows_checked"] == expected_rows
    assert written["sources"] == len(hours)

    cloudwatch = boto3.client("cloudwatch", region_name=mock_aws.region)
    listed = cloudwatch.list_metrics(Namespace="use-case/drift")["Metrics"]
    names = {metric["MetricName"] for metric in listed}
    assert names == {"DriftScore", "RowsChecked", "FeatureDrift", "PredictionDrift"}
    features = {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "Feature"}
    assert features == set(schema.FEATURES)
    rows = cloudwatch.get_metric_statistics(
        Namespace="use-case/drift",
        MetricName="RowsChecked",
        Dimensions=[{"Name": "EndpointName", "Value": "use-case-prod"}],
        StartTime=until - timedelta(minutes=5),
        EndTime=until + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [point["Maximum"] for point in rows] == [expected_rows]


def test_metric_data_fits_put_metric_data(profile, sample_captures):
    result = check(profile, sample_captures["drifted"])
    moment = datetime(2026, 11, 30, tzinfo=UTC)
    data = metrics.metric_data(result, ("EndpointName", "endpoint"), moment)
    score = next(datum for datum in data if datum["MetricName"] == "DriftScore")
    assert score["Value"] == pytest.approx(result.score) and score["Value"] > 1
    assert len(data) == 2 + len(schema.FEATURES) + 1


def test_an_aws_refusal_is_one_line(mock_aws, profile, tmp_path, capsys):
    (tmp_path / "baseline.json").write_text(json.dumps(profile))
    arguments = [
        "check",
        "--baseline",
        str(tmp_path / "baseline.json"),
        "--capture",
        "s3://no-such-bucket/capture/",
        "--hours",
        "24",
        "--region",
        mock_aws.region,
        "--output-dir",
        str(tmp_path / "report"),
    ]
    assert main(arguments) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("monitor: error: AWS refused ListObjectsV2: NoSuchBucket")
    assert not (tmp_path / "report").exists()
    assert main(arguments[:5]) == 2  # no period given
    assert "needs --hours" in capsys.readouterr().err


def test_worker_processes_and_chunks_read_the_same_traffic(sample_captures, monkeypatch, tmp_path):
    monkeypatch.setattr(capture, "MIN_LINES_PER_WORKER", 50)
    folder = tmp_path / "capture"
    folder.mkdir()
    lines = sample_captures["drifted"].read_text().splitlines()
    (folder / "a.jsonl").write_text("\n".join(lines[:100]))
    (folder / "b.jsonl").write_text("\n".join(lines[100:]))
    alone = read(folder)
    monkeypatch.setattr(capture, "CHUNK_ROWS", 40)
    shared = read(folder, workers=3)
    for name in schema.FEATURES:  # the same rows, in another order (requests by content type)
        np.testing.assert_array_equal(
            np.sort(alone["values"][name]), np.sort(shared["values"][name])
        )
    np.testing.assert_array_equal(np.sort(alone["predictions"]), np.sort(shared["predictions"]))
    for field in (
        "rows",
        "off_schema_rows",
        "unexpected_features",
        "unreadable_requests",
        "missing",
        "invalid",
        "sources",
    ):
        assert alone[field] == shared[field], field
    # A damaged line in a worker's share is named as by one process.
    (folder / "b.jsonl").write_text("\n".join([*lines[100:200], "{damaged", *lines[200:]]))
    with pytest.raises(capture.CaptureError, match=r"b\.jsonl: line 101: not JSON"):
        read(folder, workers=3)


def test_no_traffic_is_said_so_not_called_clean(local_run, tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    arguments = ["check", "--baseline", str(local_run.baseline_path), "--capture", str(empty)]
    assert main([*arguments, "--output-dir", str(tmp_path / "report")]) == 0
    assert "0 rows checked: nothing to compare" in capsys.readouterr().out
    page = (tmp_path / "report" / report.HTML_FILE).read_text()
    assert "<title>No captured rows to check" in page


def test_sample_captures_of_another_model_are_called_stale(
    local_run, model_dir, sample_captures, monkeypatch, capsys
):
    monkeypatch.setattr(settings, "SAMPLE_CAPTURES", sample_captures)
    assert samples.main(["check", "--model-dir", str(local_run.model_dir)]) == 0
    assert samples.main(["check", "--model-dir", str(model_dir)]) == 2  # other hyperparameters
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("monitor.samples: error: ") and "make sample-captures" in line
    assert str(sample_captures["clean"]) in line


def test_make_sample_captures_writes_what_the_check_accepts(model_dir, tmp_path, monkeypatch):
    paths = {kind: tmp_path / kind / "capture.jsonl" for kind in ("clean", "drifted")}
    monkeypatch.setattr(settings, "SAMPLE_CAPTURES", paths)
    assert samples.main(["write", "--model-dir", str(model_dir)]) == 0
    first = {kind: path.read_bytes() for kind, path in paths.items()}
    assert samples.main(["write", "--model-dir", str(model_dir)]) == 0  # seeded: the same bytes
    assert {kind: path.read_bytes() for kind, path in paths.items()} == first
    assert samples.main(["check", "--model-dir", str(model_dir)]) == 0
