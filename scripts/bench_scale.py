"""`make bench-scale`: how each step's time and memory grow with the data, against its floor.

Data is synthetic, drawn from the sample's distribution (per class, a multivariate normal with
the class's means and covariances; for regression one over the features and the target) at
100,000, 1,000,000 and 10,000,000 rows, in two CSV files. At each size, each step of a default
render runs as its job runs it (a fresh process of the image's environment, with every CPU,
as a SageMaker job has), and so does its floor, the bare libraries doing the step's core:

    preprocessing   pandas reading the input and writing it again
    training        pandas reading the train split, the estimator's fit on its arrays
    evaluation      pandas reading the test split, the model's predict on its arrays
    baseline        pandas reading both splits, the model's predict on the test arrays
    drift check     pandas reading the scored batch
    batch scoring   pandas reading the input, the model's predict, pandas writing it

Each is timed against its floor in turns in the same run (a ratio, never a timed test), and
its peak memory (the process's maximum resident set) is set against the data's size in memory
(rows x columns x 8 bytes). Goals: every step within 1.5x of its floor at 1,000,000 rows; time
growing at most linearly (log-log slope at most 1.1 from 1e6 to 1e7 rows); peak memory at
most 3x the data's size, and, for the steps that stream, no more at 1e7 rows than at 1e6
(1.25x at most); and preprocessing sharded across the executor's 2 processes (each with its
host's resource config and file) at least 1.6x faster than 1 process on both files.

    python scripts/bench_scale.py [--sizes 100000 1000000] [--keep DIR]
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness

PACKAGE = "customer_churn"
SIZES = (100_000, 1_000_000, 10_000_000)
WRITE_ROWS = 500_000  # rows generated and written at a time
FLOOR_RATIO, SLOPE, MEMORY_RATIO, STREAMED_GROWTH, SHARDED_SPEEDUP = 1.5, 1.1, 3.0, 1.25, 1.6
STREAMING = ("preprocessing", "evaluation", "baseline", "drift check", "batch scoring")
# The floors: each reads what the step reads and does its core with the bare libraries.
FLOOR_PRELUDE = """
import sys
from pathlib import Path
import pandas as pd

def csv_files(folder):
    return sorted(Path(folder).glob("*.csv"))

def read_all(folder):
    return pd.concat(pd.read_csv(path) for path in csv_files(folder))

def load_model(folder):
    import joblib, json
    return joblib.load(f"{folder}/model.joblib"), json.load(open(f"{folder}/model.json"))["features"]
"""
FLOORS = {
    "preprocessing": """
        for number, path in enumerate(csv_files(sys.argv[1])):
            pd.read_csv(path).to_csv(f"{sys.argv[2]}/{number}.csv", index=False)
    """,
    "training": f"""
        from {PACKAGE}.data import schema
        from {PACKAGE}.train.core import build_estimator
        from {PACKAGE}.train.hyperparameters import Hyperparameters
        frame = read_all(sys.argv[1])
        build_estimator(Hyperparameters()).fit(
            frame[list(schema.FEATURES)].to_numpy(), frame[schema.TARGET].to_numpy()
        )
    """,
    "evaluation": """
        model, features = load_model(sys.argv[2])
        model.predict(read_all(sys.argv[1])[features].to_numpy())
    """,
    "baseline": """
        model, features = load_model(sys.argv[3])
        read_all(sys.argv[1])
        model.predict(read_all(sys.argv[2])[features].to_numpy())
    """,
    "drift check": """
        for path in csv_files(sys.argv[1]):
            pd.read_csv(path)
    """,
    "batch scoring": """
        model, features = load_model(sys.argv[2])
        for path in csv_files(sys.argv[1]):
            frame = pd.read_csv(path)
            frame["prediction"] = model.predict(frame[features].to_numpy())
            frame.to_csv(f"{sys.argv[3]}/{path.name}", index=False)
    """,
}


# Run in the project's environment (this script's has no numpy): sample, rows, folder.
SYNTHESIZE = f"""
import sys
from pathlib import Path
import numpy as np, pandas as pd
sample, rows, folder, files = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), 2
frame = pd.read_csv(sample)
target = frame.columns[-1]
classes = frame[target].nunique() <= 10
groups = list(frame.groupby(target)) if classes else [(None, frame)]
shares = np.array([len(group) for _, group in groups]) / len(frame)
columns = [c for c in frame.columns if c != target] if classes else list(frame.columns)
fitted = [(g[columns].mean().to_numpy(), g[columns].cov().to_numpy()) for _, g in groups]
rng = np.random.default_rng(0)
folder.mkdir(parents=True, exist_ok=True)
per_file = -(-rows // files)
for number in range(files):
    left = min(per_file, rows - number * per_file)
    with (folder / f"part-{{number}}.csv").open("w") as stream:
        while left > 0:
            count = min({WRITE_ROWS}, left)
            picks = rng.choice(len(groups), size=count, p=shares)
            values = np.empty((count, len(columns)))
            for index, (mean, covariance) in enumerate(fitted):
                chosen = picks == index
                values[chosen] = rng.multivariate_normal(mean, covariance, int(chosen.sum()), method="eigh")
            chunk = pd.DataFrame(values, columns=columns)
            if classes:
                chunk[target] = np.array([group for group, _ in groups])[picks]
            chunk.to_csv(stream, header=stream.tell() == 0, index=False, float_format="%.6g")
            left -= count
"""


def measured(command: list[str], project: Path, **variables: str) -> tuple[float, int]:
    """Seconds and peak resident bytes of one run of `command` in the project."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), **variables}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(map(str, command))} failed: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return seconds, usage.ru_maxrss * 1024  # kilobytes on Linux


def floor_command(python: str, step: str, *arguments) -> list[str]:
    return [python, "-c", FLOOR_PRELUDE + textwrap.dedent(FLOORS[step]), *map(str, arguments)]


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def steps(python: str, data: Path, work: Path) -> dict[str, tuple[callable, callable]]:
    """Each step's run and its floor's, in the order the pipeline runs them."""
    module = [python, "-m"]
    out, model = work / "out", work / "model"
    return {
        "preprocessing": (
            lambda: [*module, f"{PACKAGE}.data", "--input", data, "--output-dir", fresh(out)],
            lambda: floor_command(python, "preprocessing", data, fresh(work / "floor-out")),
        ),
        "training": (
            lambda: [
                *module,
                f"{PACKAGE}.train",
                *("--train", out / "train", "--validation", out / "validation", "--model-dir", fresh(model)),
            ],
            lambda: floor_command(python, "training", out / "train"),
        ),
        "evaluation": (
            lambda: [
                *module,
                f"{PACKAGE}.evaluate",
                *("--model-dir", model, "--test-dir", out / "test", "--output-dir", fresh(work / "evaluation")),
                *("--data-dir", out / "manifest"),
            ],
            lambda: floor_command(python, "evaluation", out / "test", model),
        ),
        "baseline": (
            lambda: [
                *module,
                f"{PACKAGE}.monitor",
                "baseline",
                *("--train-dir", out / "train", "--test-dir", out / "test", "--model-dir", model),
                *("--output-dir", fresh(work / "baseline")),
            ],
            lambda: floor_command(python, "baseline", out / "train", out / "test", model),
        ),
        "batch scoring": (
            lambda: [
                *module,
                f"{PACKAGE}.infer",
                *("--model-dir", model, "--input", data, "--output-dir", fresh(work / "scored")),
            ],
            lambda: floor_command(python, "batch scoring", data, model, fresh(work / "floor-scored")),
        ),
        "drift check": (
            lambda: [
                *module,
                f"{PACKAGE}.monitor",
                "check",
                *("--capture", work / "scored", "--baseline", work / "baseline" / "baseline.json"),
                *("--output-dir", fresh(work / "drift")),
            ],
            lambda: floor_command(python, "drift check", work / "scored"),
        ),
    }


def sharded_speedup(python: str, project: Path, data: Path, work: Path) -> float:
    """1 process preprocessing both files, over 2 at once, each a host with its own file."""
    one, _ = measured([python, "-m", f"{PACKAGE}.data", "--input", data, "--output-dir", fresh(work / "one")], project)
    hosts = ["algo-1", "algo-2"]
    processes, start = [], time.perf_counter()
    for host, path in zip(hosts, sorted(data.glob("*.csv")), strict=True):
        root = fresh(work / host)
        (root / "config").mkdir()
        config = {"hosts": hosts, "current_host": host}
        (root / "config" / "resourceconfig.json").write_text(json.dumps(config))
        (root / "input").mkdir()
        (root / "input" / path.name).symlink_to(path)
        command = [python, "-m", f"{PACKAGE}.data", "--input", root / "input", "--output-dir", work / "shared"]
        env = {**os.environ, "PYTHONPATH": str(project / "src"), "OPT_ML_DIR": str(root), "ML_THREADS": "1"}
        processes.append(subprocess.Popen(list(map(str, command)), cwd=project, env=env, stdout=subprocess.DEVNULL))
    if any(process.wait() for process in processes):
        raise RuntimeError("a sharded preprocessing process failed")
    return one / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--keep", type=Path, help="a folder for the data and outputs, kept after")
    args = parser.parse_args()
    python = str(harness.project_env())
    every_cpu = str(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = args.keep or Path(scratch_dir)
        project = harness.render(fresh(scratch / "project"))
        sample = next((project / "data" / "sample").glob("*.csv"))
        width = len(sample.read_text().partition("\n")[0].split(","))
        registry = fresh(scratch / "empty-registry")
        results: dict[tuple[str, int], tuple[float, float, int]] = {}
        for rows in args.sizes:
            data = scratch / f"data-{rows}"
            if not data.is_dir():
                subprocess.run([python, "-c", SYNTHESIZE, str(sample), str(rows), str(data)], check=True)
            work = scratch / f"work-{rows}"
            work.mkdir(exist_ok=True)
            for step, (ours, floor) in steps(python, data, work).items():
                # No champion: an empty local registry, where Evaluate would otherwise ask AWS.
                seconds, peak = measured(
                    list(map(str, ours())), project, ML_THREADS=every_cpu, LOCAL_MODEL_REGISTRY=str(registry)
                )
                floor_seconds, _ = measured(list(map(str, floor())), project, ML_THREADS=every_cpu)
                ratio, megabytes = seconds / floor_seconds, peak / 2**20
                results[step, rows] = seconds, ratio, peak
                print(f"{rows:>10,} {step:<15}{seconds:9.2f} s {ratio:6.2f}x floor {megabytes:8.0f} MB", flush=True)
        largest = max(args.sizes)
        speedup = sharded_speedup(python, project, scratch / f"data-{largest}", scratch / "sharded")
    print()
    report(results, args.sizes, width, speedup)
    return 0


def verdict(met: bool) -> str:
    return f"{'ok' if met else 'MISSED':<6}"


def report(results: dict, sizes: list[int], width: int, speedup: float) -> None:
    middle = 1_000_000 if 1_000_000 in sizes else sorted(sizes)[len(sizes) // 2]
    largest = max(sizes)
    headings = [f"ratio @{middle:,}", "  slope", f"peak/data @{largest:,}", "peak growth"]
    print(f"{'step':<15}" + "".join(f"{heading:>{len(heading)}}{'':7}" for heading in headings).rstrip())
    for step in FLOORS:
        _, ratio, _ = results[step, middle]
        line = f"{step:<15}{ratio:>{len(headings[0])}.2f} {verdict(ratio <= FLOOR_RATIO)}"
        if largest > middle:
            slope = math.log(results[step, largest][0] / results[step, middle][0]) / math.log(largest / middle)
            line += f"{slope:>{len(headings[1])}.2f} {verdict(slope <= SLOPE)}"
            memory = results[step, largest][2] / (largest * width * 8)
            line += f"{memory:>{len(headings[2])}.2f} {verdict(memory <= MEMORY_RATIO)}"
            if step in STREAMING:
                growth = results[step, largest][2] / results[step, middle][2]
                line += f"{growth:>{len(headings[3])}.2f} {verdict(growth <= STREAMED_GROWTH)}"
        print(line.rstrip())
    goal = f"(goal {SHARDED_SPEEDUP}x) {verdict(speedup >= SHARDED_SPEEDUP).strip()}"
    print(f"sharded preprocessing, 2 processes at {largest:,} rows: {speedup:.2f}x faster than 1 {goal}")


if __name__ == "__main__":
    sys.exit(main())
