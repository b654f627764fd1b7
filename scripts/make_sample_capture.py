"""Write the generated projects' captured-traffic samples: a clean one and a drifted copy.

Run by hand when the sample data, the handler's formats or the model change
(`.venv/bin/python scripts/make_sample_capture.py`). For each problem type and framework it
renders a project, trains it with the local runner, and replays the sample data as endpoint requests
through that project's own serving handler, recording each request and response as SageMaker's
data capture does (JSON Lines, one record per request). The drifted copy sends the same
requests after injecting each kind of drift the check looks for: shifted features, missing
values, values that are not numbers, rows off the schema, and (for data with a categorical
feature) a code training never saw; the responses then drift as well.
Everything is seeded, so a rerun writes the same files.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness

CAPTURE_DIR = harness.TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "data" / "sample" / "capture"
PACKAGE = "customer_churn"

# Runs in the rendered project's environment: argv is the sample CSV, the model folder, and
# the two files to write. Kept here so that the generated projects do not carry it.
REPLAY = r'''
import base64, csv, io, json, sys
from datetime import datetime, timedelta, UTC
import numpy as np
from PKG.data import schema
from PKG.infer.handler import input_fn, model_fn, output_fn, predict_fn

SEED = 20261130
START = datetime(2026, 11, 30, tzinfo=UTC)
sample, model_dir, clean_path, drifted_path = sys.argv[1:]
model = model_fn(model_dir)
with open(sample, newline="") as file:
    rows = [[record[name] for name in schema.FEATURES] for record in csv.DictReader(file)]
rng = np.random.default_rng(SEED)
order = rng.permutation(len(rows))
rows = [rows[index] for index in order]

def requests(rows, rng):
    """Group rows into requests: CSV rows, JSON lists of instances, JSON objects by name."""
    index = 0
    while index < len(rows):
        kind = rng.choice(["csv", "json-lists", "json-object"], p=[0.5, 0.3, 0.2])
        size = 1 if kind != "json-lists" else int(rng.integers(1, 4))
        yield kind, rows[index : index + size]
        index += size

def body(kind, batch):
    if kind == "csv":
        return "text/csv", "\n".join(",".join(map(str, row)) for row in batch)
    if kind == "json-lists":
        return "application/json", json.dumps({"instances": [[number(v) for v in row] for row in batch]})
    names = [*schema.FEATURES, *(f"extra_{i}" for i in range(len(batch[0]) - len(schema.FEATURES)))]
    return "application/json", json.dumps({name: number(v) for name, v in zip(names, batch[0])})

def number(value):
    try:
        return float(value)
    except ValueError:
        return value if value else None

def record(number_, when, content_type, text):
    encoding = "CSV" if content_type == "text/csv" else "JSON"
    try:
        output, output_type = output_fn(predict_fn(input_fn(text, content_type), model), content_type)
        response = {"observedContentType": output_type, "mode": "OUTPUT", "data": output, "encoding": encoding}
    except ValueError as error:  # the endpoint refuses the request: an error body, not predictions
        message = json.dumps({"error": str(error)})
        response = {"observedContentType": "application/json", "mode": "OUTPUT", "data": message, "encoding": "JSON"}
    return {
        "captureData": {
            "endpointInput": {"observedContentType": content_type, "mode": "INPUT", "data": text, "encoding": encoding},
            "endpointOutput": response,
        },
        "eventMetadata": {"eventId": f"{SEED:x}-{number_:06d}", "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "eventVersion": "0",
    }

def drifted(rows, rng):
    """Each kind of drift the check looks for, injected into a copy of the rows."""
    features = list(schema.FEATURES)
    numeric = [name for name in features if name not in schema.CATEGORICAL_FEATURES]
    values = np.array([[float(v) for v in row] for row in rows])
    spread = values.std(axis=0)
    out = [list(map(str, row)) for row in values]
    # Shifted: the three features the predictions follow most rise by one deviation, so the
    # predictions drift too.
    predictions = predict_fn([list(row) for row in values], model)
    scores = np.array([prediction.get("probability", prediction.get("prediction")) for prediction in predictions])
    follow = {name: abs(np.corrcoef(values[:, features.index(name)], scores)[0, 1]) for name in numeric}
    shifted = sorted(numeric, key=follow.get, reverse=True)[:3]
    for name in shifted:
        column = features.index(name)
        for row in out:
            row[column] = f"{float(row[column]) + spread[column]:.6g}"
    numeric = [name for name in numeric if name not in shifted]
    blank = features.index(numeric[0])  # missing: a quarter of one feature's values
    for row in rng.choice(len(out), len(out) // 4, replace=False):
        out[row][blank] = ""
    typed = features.index(numeric[1])  # not numbers: a unit slips into some values
    for row in rng.choice(len(out), len(out) // 20, replace=False):
        out[row][typed] = out[row][typed] + " cm"
    for name in schema.CATEGORICAL_FEATURES:  # a new code in a tenth of the rows
        column = features.index(name)
        for row in rng.choice(len(out), len(out) // 10, replace=False):
            out[row][column] = "3"
    for row in rng.choice(len(out), len(out) // 20, replace=False):  # off the schema: one more value
        out[row].append("1")
    return out

def write(path, rows, rng):
    with open(path, "w") as file:
        when = START
        for number_, (kind, batch) in enumerate(requests(rows, rng)):
            if kind != "json-object" and len({len(row) for row in batch}) > 1:
                kind = "csv"
            content_type, text = body(kind, batch)
            when += timedelta(seconds=int(rng.integers(60, 240)))
            file.write(json.dumps(record(number_, when, content_type, text)) + "\n")

write(clean_path, [[str(number(v)) if v else "" for v in row] for row in rows], np.random.default_rng(SEED))
write(drifted_path, drifted(rows, np.random.default_rng(SEED + 1)), np.random.default_rng(SEED))
'''.replace("PKG", PACKAGE)


def main() -> int:
    python = str(harness.project_env(harness.DEFAULT_PYTHON))
    samples = {"binary_classification": "breast_cancer", "regression": "diabetes"}
    for answers in harness.COMBINATIONS:
        sample = samples[answers["problem_type"]]
        with tempfile.TemporaryDirectory() as scratch:
            project = harness.render(Path(scratch), **answers)
            env = {**os.environ, "PYTHONPATH": str(project / "src")}
            run = [python, "-m", f"{PACKAGE}.pipeline.local", "--runs-dir", "runs"]
            subprocess.run(run, cwd=project, env=env, check=True, capture_output=True)
            model_dir = next((project / "runs").iterdir()) / "train" / "model"
            name = f"{sample}-{answers['model_framework']}.jsonl"
            paths = [CAPTURE_DIR / kind / name for kind in ("clean", "drifted")]
            for path in paths:
                path.parent.mkdir(parents=True, exist_ok=True)
            sample_csv = project / "data" / "sample" / f"{sample}.csv"
            command = [python, "-c", REPLAY, str(sample_csv), str(model_dir), *map(str, paths)]
            subprocess.run(command, cwd=project, env=env, check=True)
            for path in paths:
                requests = len(path.read_text().splitlines())
                print(f"wrote {path.relative_to(harness.TEMPLATE_DIR)}: {requests} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
