"""The sample captured traffic in data/sample/capture/: a clean capture and a drifted one.

  write  send the sample data to a model's serving handler and record each request and
         response as SageMaker's data capture does (`make sample-captures`)
  check  say whether the sample captures are that model's (`make monitor` runs it first)

The model is the newest local run's unless --model-dir names one. The captures hold the
model's answers, so they belong to the model that made them: after a change to the model, its
hyperparameters or the schema, the clean capture would show drift. Everything is seeded, so
one model always writes the same bytes: `check` makes the captures again and compares them
with the files. The drifted capture sends the same requests after injecting each kind of drift
the check looks for: shifted features, missing values, values that are not numbers, rows off
the schema, and (for data with a categorical feature) a code training never saw.
"""

import argparse
import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from .. import settings, threads
from ..data import schema

PROGRAM = "monitor.samples"
SEED = 20261130
START = datetime(2026, 11, 30, tzinfo=UTC)
REGENERATE = "make sample-captures"


def number(value: str) -> float | str | None:
    try:
        return float(value)
    except ValueError:
        return value if value else None


def requests(rows: list[list[str]], rng):
    """Group rows into requests: CSV rows, JSON lists of instances, JSON objects by name."""
    index = 0
    while index < len(rows):
        kind = rng.choice(["csv", "json-lists", "json-object"], p=[0.5, 0.3, 0.2])
        size = 1 if kind != "json-lists" else int(rng.integers(1, 4))
        yield kind, rows[index : index + size]
        index += size


def body(kind: str, batch: list[list[str]]) -> tuple[str, str]:
    if kind == "csv":
        return "text/csv", "\n".join(",".join(map(str, row)) for row in batch)
    if kind == "json-lists":
        instances = [[number(value) for value in row] for row in batch]
        return "application/json", json.dumps({"instances": instances})
    extra = (f"extra_{index}" for index in range(len(batch[0]) - len(schema.FEATURES)))
    names = [*schema.FEATURES, *extra]
    return "application/json", json.dumps(
        {name: number(value) for name, value in zip(names, batch[0], strict=True)}
    )


def _encoding(content_type: str) -> str:
    return "CSV" if content_type == "text/csv" else "JSON"


def record(number_: int, when: datetime, content_type: str, text: str, answer: tuple) -> dict:
    """One capture record: the request and the endpoint's (body, content type) answer."""
    output, output_type = answer
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": text,
                "encoding": _encoding(content_type),
            },
            "endpointOutput": {
                "observedContentType": output_type,
                "mode": "OUTPUT",
                "data": output,
                "encoding": _encoding(output_type),
            },
        },
        "eventMetadata": {
            "eventId": f"{SEED:x}-{number_:06d}",
            "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "eventVersion": "0",
    }


def drifted(model, rows: list[list[str]], rng) -> list[list[str]]:
    """Each kind of drift the check looks for, injected into a copy of the rows."""
    from ..infer.handler import predict_fn

    features = list(schema.FEATURES)
    numeric = [name for name in features if name not in schema.CATEGORICAL_FEATURES]
    values = np.array([[float(value) for value in row] for row in rows])
    spread = values.std(axis=0)
    out = [list(map(str, row)) for row in values]
    # Shifted: the three features the predictions follow most rise by one deviation, so the
    # predictions drift too.
    predictions = predict_fn([list(row) for row in values], model)
    field = "probability" if "probability" in predictions[0] else "prediction"
    scores = np.array([answer[field] for answer in predictions])
    follow = {
        name: abs(np.corrcoef(values[:, features.index(name)], scores)[0, 1]) for name in numeric
    }
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
    # Off the schema: one value more.
    for row in rng.choice(len(out), len(out) // 20, replace=False):
        out[row].append("1")
    return out


def capture_text(model, rows: list[list[str]], rng) -> str:
    """The requests' capture records, answered as the serving handler answers each request.

    The rows of every readable request go to the model in one call: a tree ensemble's cost is
    per call more than per row, and each row's score is the same either way.
    """
    from ..infer.handler import answers, feature_matrix, input_fn, output_fn, predict_array

    sent, when = [], START
    for kind, batch in requests(rows, rng):
        if kind != "json-object" and len({len(row) for row in batch}) > 1:
            kind = "csv"
        content_type, text = body(kind, batch)
        when += timedelta(seconds=int(rng.integers(60, 240)))
        try:
            matrix = feature_matrix(input_fn(text, content_type), model.features)
        except ValueError as error:  # the endpoint refuses the request: an error body
            matrix = error
        sent.append((when, content_type, text, matrix))
    readable = [matrix for *_, matrix in sent if not isinstance(matrix, ValueError)]
    scores = predict_array(model, np.vstack(readable)) if readable else np.empty(0)
    by_request = iter(np.split(scores, np.cumsum([len(matrix) for matrix in readable])[:-1]))
    lines = []
    for number_, (when, content_type, text, matrix) in enumerate(sent):
        if isinstance(matrix, ValueError):
            answer = json.dumps({"error": str(matrix)}), "application/json"
        else:
            answer = output_fn(answers(model, next(by_request)), content_type)
        lines.append(json.dumps(record(number_, when, content_type, text, answer)) + "\n")
    return "".join(lines)


def make(model_dir: Path, sample_csv: Path | None = None) -> dict[str, str]:
    """The clean and the drifted capture of the sample data sent to the model in model_dir."""
    from ..infer.handler import model_fn

    model = model_fn(str(model_dir))
    with open(sample_csv or settings.SAMPLE_DATA, newline="") as file:
        rows = [[line[name] for name in schema.FEATURES] for line in csv.DictReader(file)]
    order = np.random.default_rng(SEED).permutation(len(rows))
    rows = [rows[index] for index in order]
    clean = [[str(number(value)) if value else "" for value in row] for row in rows]
    shifted = drifted(model, rows, np.random.default_rng(SEED + 1))
    # Both send their requests in the same groups and at the same times.
    return {
        "clean": capture_text(model, clean, np.random.default_rng(SEED)),
        "drifted": capture_text(model, shifted, np.random.default_rng(SEED)),
    }


def write(model_dir: Path, paths: dict[str, Path] | None = None) -> dict[str, Path]:
    """Write the captures (default: the project's sample captures); return their paths."""
    paths = paths or settings.SAMPLE_CAPTURES
    for kind, text in make(model_dir).items():
        paths[kind].parent.mkdir(parents=True, exist_ok=True)
        paths[kind].write_text(text)
    return paths


def stale(model_dir: Path, paths: dict[str, Path] | None = None) -> list[Path]:
    """The captures that the model in model_dir would not have written as they are."""
    paths = paths or settings.SAMPLE_CAPTURES
    made = make(model_dir)
    return [
        path for kind, path in paths.items() if not path.is_file() or path.read_text() != made[kind]
    ]


def newest_local_model() -> Path:
    """The model of the newest local run, the one whose baseline `make monitor` checks with."""
    from ..pipeline.local import newest_run, run_model

    return run_model(newest_run(settings.RUNS_DIR))


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--model-dir", type=Path, help="default: the newest local run's model")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    threads.limit(PROGRAM)
    try:
        model_dir = args.model_dir or newest_local_model()
        if args.command == "write":
            for path in write(model_dir).values():
                print(f"{PROGRAM}: wrote {path}")
            return 0
        outdated = stale(model_dir)
    except (OSError, ValueError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    if outdated:
        names = ", ".join(str(path) for path in outdated)
        print(
            f"{PROGRAM}: error: {names} not made by the model in {model_dir}"
            f" (changed model, hyperparameters or schema?): regenerate with `{REGENERATE}`",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
