"""The staging integration test: requests a client would send, and the answers it must get.

Endpoint: rows of the sample data go to the endpoint one at a time, in both content types the
handler accepts (text/csv and application/json, each with the same Accept type). Every response
must have the handler's shape with values the problem type allows (a 0/1 label that agrees with
a probability from 0 to 1; a finite regression value near the sample's target range), and the
95th-percentile latency must stay within the bound.

Batch scoring: the sample rows are put under the staging scoring pipeline's input as a batch of
their own and the pipeline runs on them, as its schedule would run it. The execution must
succeed; the scores must hold every row once, in order, as written, with values of those same
types and ranges; the manifest must name the model package and count the rows in and out.

The results are written as JUnit XML, which CodeBuild shows as a report; any failure stops the
deploy pipeline before the manual approval.
"""

import csv
import io
import json
import math
import re
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from .. import settings
from ..data.schema import FEATURES, TARGET
from ..infer.batch import MANIFEST_FILE
from ..infer.handler import CSV, DECISION_THRESHOLD, JSON

ROWS = 20
CONTENT_TYPES = (CSV, JSON)
# A scoring execution runs two processing jobs; the test build's timeout leaves room for this.
SCORING_TIMEOUT_SECONDS = 3600.0
POLL_SECONDS = 30.0
FINISHED = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class Request:
    """One invocation: a sample row (counted from 1) in one content type."""

    row: int
    content_type: str
    body: str


@dataclass
class Case:
    """One JUnit test case: its name, what failed (empty when it passed) and its duration."""

    name: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def sample(path: Path, count: int) -> tuple[list[list[str]], tuple[float, float]]:
    """The first `count` rows' feature values (as text) and the range of the target column."""
    with path.open(newline="") as file:
        records = list(csv.DictReader(file))
    targets = [float(record[TARGET]) for record in records]
    rows = [[record[feature] for feature in FEATURES] for record in records[:count]]
    return rows, (min(targets), max(targets))


def requests_for(rows: list[list[str]]) -> list[Request]:
    """The requests in the order they are sent: each row as CSV, then as JSON."""
    requests = []
    for number, values in enumerate(rows, start=1):
        requests.append(Request(number, CSV, ",".join(values)))
        numbers = [float(value) if value else None for value in values]
        requests.append(Request(number, JSON, json.dumps({"instances": [numbers]})))
    return requests


def _prediction_problem(prediction: dict, target_range: tuple[float, float]) -> str | None:
    if settings.PROBLEM_TYPE == "binary_classification":
        label, probability = prediction.get("label"), prediction.get("probability")
        if set(prediction) != {"label", "probability"}:
            return f"expected label and probability, got {sorted(prediction)}"
        if type(label) is not int or label not in (0, 1):
            return f"label {label!r} is not 0 or 1"
        if not isinstance(probability, float | int) or not 0 <= probability <= 1:
            return f"probability {probability!r} is not a number from 0 to 1"
        if label != int(probability >= DECISION_THRESHOLD):
            return f"label {label} disagrees with probability {probability}"
        return None
    value = prediction.get("prediction")
    if set(prediction) != {"prediction"}:
        return f"expected prediction, got {sorted(prediction)}"
    if not isinstance(value, float | int) or not math.isfinite(value):
        return f"prediction {value!r} is not a finite number"
    low, high = target_range
    span = high - low
    if not low - span <= value <= high + span:
        return f"prediction {value} is far outside the sample's targets ({low} to {high})"
    return None


def _parse(content_type: str, body: str) -> dict:
    """The one prediction of a single-row response, as the handler's dict; ValueError if not."""
    if content_type == JSON:
        predictions = json.loads(body).get("predictions")
        if not isinstance(predictions, list) or len(predictions) != 1:
            raise ValueError(f"expected one prediction under 'predictions', got {body[:80]!r}")
        if not isinstance(predictions[0], dict):
            raise ValueError(f"expected a prediction object, got {predictions[0]!r}")
        return predictions[0]
    lines = list(csv.reader(io.StringIO(body)))
    keys = (
        ("label", "probability")
        if settings.PROBLEM_TYPE == "binary_classification"
        else ("prediction",)
    )
    if len(lines) != 1 or len(lines[0]) != len(keys):
        raise ValueError(f"expected one line of {len(keys)} value(s), got {body[:80]!r}")
    values = [float(value) for value in lines[0]]
    parsed = dict(zip(keys, values, strict=True))
    if "label" in parsed and parsed["label"].is_integer():
        parsed["label"] = int(parsed["label"])
    return parsed


def response_problem(
    request: Request, content_type: str, body: str, target_range: tuple[float, float]
) -> str | None:
    """Why a response is wrong for `request`, or None when it is right."""
    where = f"row {request.row} as {request.content_type}"
    if content_type.split(";")[0].strip() != request.content_type:
        return f"{where}: the response is {content_type!r}, not {request.content_type}"
    try:
        prediction = _parse(request.content_type, body)
    except (ValueError, AttributeError) as error:
        return f"{where}: malformed response: {error}"
    problem = _prediction_problem(prediction, target_range)
    return f"{where}: {problem}" if problem else None


def p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def run(
    runtime_client,
    endpoint: str,
    rows: list[list[str]],
    target_range: tuple[float, float],
    p95_limit: float,
) -> list[Case]:
    """Send every request, check every response; one case per content type, one for latency."""
    cases = {content_type: Case(f"{content_type} responses") for content_type in CONTENT_TYPES}
    latencies = []
    for request in requests_for(rows):
        started = time.perf_counter()
        response = runtime_client.invoke_endpoint(
            EndpointName=endpoint,
            ContentType=request.content_type,
            Accept=request.content_type,
            Body=request.body.encode(),
        )
        body = response["Body"].read().decode("utf-8", errors="replace")
        latencies.append(time.perf_counter() - started)
        case = cases[request.content_type]
        case.seconds += latencies[-1]
        problem = response_problem(request, response.get("ContentType", ""), body, target_range)
        if problem:
            case.problems.append(problem)
    observed = p95(latencies)
    latency = Case(f"p95 latency within {p95_limit:g} s", seconds=sum(latencies))
    if observed > p95_limit:
        latency.problems.append(
            f"p95 latency {observed:.3f} s over {len(latencies)} requests exceeds {p95_limit:g} s"
        )
    return [*cases.values(), latency]


def sample_batch(path: Path, count: int) -> str:
    """The sample file's header and first `count` rows, as written: a batch to score."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return "\n".join(lines[: count + 1]) + "\n"


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def wait_for(sagemaker_client, arn: str, timeout: float, poll: float, sleep=time.sleep) -> dict:
    """The execution once it has finished, or as it is when `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        execution = sagemaker_client.describe_pipeline_execution(PipelineExecutionArn=arn)
        if execution["PipelineExecutionStatus"] in FINISHED or time.monotonic() >= deadline:
            return execution
        sleep(poll)


def _scored_rows(given: str, scored: str, target_range) -> tuple[list[str], list[str]]:
    """What is wrong with the scores: of the rows (count, order, text), and of their values."""
    given_lines, scored_lines = given.splitlines(), scored.splitlines()
    rows, values = [], []
    if len(scored_lines) != len(given_lines):
        rows.append(f"{len(given_lines) - 1} rows sent, {len(scored_lines) - 1} scored")
    for number, (line, output) in enumerate(zip(given_lines, scored_lines, strict=False), 1):
        if not output.startswith(line + ","):
            rows.append(f"line {number} is not the row sent, as written, with its scores")
    keys = ("label", "probability") if settings.PROBLEM_TYPE == "binary_classification" else ()
    for number, record in enumerate(csv.DictReader(io.StringIO(scored)), start=2):
        try:
            prediction = {key: float(record[key]) for key in keys or ("prediction",)}
        except (KeyError, TypeError, ValueError):
            values.append(f"line {number}: no number under {', '.join(keys or ('prediction',))}")
            continue
        if "label" in prediction and prediction["label"].is_integer():
            prediction["label"] = int(prediction["label"])
        if problem := _prediction_problem(prediction, target_range):
            values.append(f"line {number}: {problem}")
    return rows, values


def _manifest_problems(manifest: dict, rows: int, input_uri: str, group_arn: str) -> list[str]:
    problems = []
    if not str(manifest.get("model_package_arn", "")).startswith(group_arn):
        problems.append(
            f"model_package_arn {manifest.get('model_package_arn')!r} is not of {group_arn}"
        )
    if not isinstance(manifest.get("model_package_version"), int):
        problems.append(f"model_package_version {manifest.get('model_package_version')!r}")
    if not re.fullmatch(r"[0-9a-f]{64}", str(manifest.get("code_digest"))):
        problems.append(f"code_digest {manifest.get('code_digest')!r} is no sha256 digest")
    if manifest.get("input") != input_uri:
        problems.append(f"input {manifest.get('input')!r}, not {input_uri}")
    if (manifest.get("rows_in"), manifest.get("rows_out")) != (rows, rows):
        problems.append(
            f"rows in {manifest.get('rows_in')} and out {manifest.get('rows_out')}, not {rows}"
        )
    return problems


def score(
    sagemaker_client,
    s3_client,
    pipeline: str,
    root: str,
    batch: str,
    rows_text: str,
    target_range: tuple[float, float],
    group_arn: str,
    timeout: float = SCORING_TIMEOUT_SECONDS,
    poll: float = POLL_SECONDS,
) -> list[Case]:
    """Put `rows_text` under `root` as the batch `batch`, run `pipeline` on it and check what it
    wrote: one case for the execution, then the rows, their values and the manifest."""
    bucket, prefix = _split(root)
    input_uri = f"{root}/input/{batch}/"
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}/input/{batch}/sample.csv", Body=rows_text)
    started = time.perf_counter()
    arn = sagemaker_client.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineExecutionDisplayName=batch,
        PipelineParameters=[{"Name": "BatchDate", "Value": batch}],
    )["PipelineExecutionArn"]
    execution = wait_for(sagemaker_client, arn, timeout, poll)
    run = Case("scoring pipeline execution succeeds", seconds=time.perf_counter() - started)
    status = execution["PipelineExecutionStatus"]
    if status != "Succeeded":
        if status in FINISHED:
            reason = execution.get("FailureReason") or "see its steps in SageMaker Studio"
        else:
            reason = f"not finished after {timeout:g} s"
        run.problems.append(f"execution {arn} is {status}: {reason}")
        return [run]
    output = f"{prefix}/output/{batch}/{arn.rpartition('/')[2]}/predictions"

    def read(name: str) -> str:
        body = s3_client.get_object(Bucket=bucket, Key=f"{output}/{name}")["Body"]
        return body.read().decode("utf-8")

    rows, values = _scored_rows(rows_text, read("sample.csv"), target_range)
    count = len(rows_text.splitlines()) - 1
    manifest = json.loads(read(MANIFEST_FILE))
    return [
        run,
        Case("every row scored once, in order", rows),
        Case("scores of the problem type's types and ranges", values),
        Case(
            "manifest names the model and the rows",
            _manifest_problems(manifest, count, input_uri, group_arn),
        ),
    ]


def junit_xml(cases: list[Case], suite: str) -> str:
    failures = sum(1 for case in cases if case.problems)
    root = ElementTree.Element("testsuites")
    element = ElementTree.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        time=f"{sum(case.seconds for case in cases):.3f}",
    )
    for case in cases:
        testcase = ElementTree.SubElement(
            element, "testcase", classname=suite, name=case.name, time=f"{case.seconds:.3f}"
        )
        if case.problems:
            failure = ElementTree.SubElement(testcase, "failure", message=case.problems[0])
            failure.text = "\n".join(case.problems)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
