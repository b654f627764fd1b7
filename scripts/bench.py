"""`make bench`: medians of what the speed goals time, on this machine, against the goals.

Times what a user waits for: a default render; `make setup` in a fresh render, with uv's cache
warm and with an empty one (everything downloaded from PyPI); the generated `make test` once
set up and run once (warm); the local end-to-end run (the SageMaker Pipeline definition
executed: the first run, which builds the definition, then runs that reuse it, also with every
core kept busy by other processes, as on a loaded CI machine) and the SageMaker Pipeline definition (each a fresh
process, imports included), the import of `<package>.infer`, one single-row prediction through
the serving handler, the drift check of 100,000 captured rows (a fresh process, imports
included, with every CPU as in its SageMaker job) and the import of what it loads; batch
scoring of 1,000,000 rows through the package (`python -m <package>.infer --output-dir`, a fresh
process) as a ratio to its floor, the bare libraries reading the CSV, predicting on the array
and writing the CSV, the two timed in turns; and, in a
fresh clone of this repository's HEAD (committed work only), `make demo` and `make test` with
CI=true, uv's cache warm. The template's `make test` runs once: it takes minutes.
"""

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness

PACKAGE = "customer_churn"
LATENCY_SCRIPT = f"""
import statistics, sys, time
from {PACKAGE}.data import schema
from {PACKAGE}.infer import input_fn, model_fn, output_fn, predict_fn
model = model_fn(sys.argv[1])
row = ",".join(["1.0"] * len(schema.FEATURES))
timings = []
for _ in range(300):
    start = time.perf_counter()
    output_fn(predict_fn(input_fn(row, "text/csv"), model), "application/json")
    timings.append(time.perf_counter() - start)
print(statistics.median(timings))
"""
IMPORT_SCRIPT = "import time; start = time.perf_counter(); import {module}; print(time.perf_counter() - start)"
# The floor of batch scoring: the bare libraries read the CSV, predict on the array, write the CSV.
FLOOR_SCRIPT = """
import json, sys
import joblib, pandas as pd
model_dir, source, target = sys.argv[1:]
estimator = joblib.load(f"{model_dir}/model.joblib")
features = json.load(open(f"{model_dir}/model.json"))["features"]
frame = pd.read_csv(source)
frame["prediction"] = estimator.predict(frame[features].to_numpy())
frame.to_csv(target, index=False)
"""
SCORING_ROWS = 1_000_000
MONITOR_MODULES = ", ".join(f"{PACKAGE}.monitor.{module}" for module in ("capture", "drift", "report"))
DRIFT_ROWS = 100_000
# The speed goals, in seconds (None: reported, no goal); the README's table states these.
GOALS = {
    "default render": 0.5,
    "make setup, uv cache warm": 20.0,
    "make setup, uv cache empty": 120.0,
    "generated make test, warm": 30.0,
    "local run, definition built": None,
    "local end-to-end run": 8.0,
    "local run, every core busy": 10.0,
    "pipeline definition (SDK)": 3.0,
    f"import {PACKAGE}.infer": 0.3,
    "single-row prediction": None,
    f"drift check, {DRIFT_ROWS:,} rows": 5.0,
    f"batch scoring, {SCORING_ROWS:,} rows, ratio to the floor": 2.0,
    "import of the drift check": 0.3,
    "make demo, fresh clone": 60.0,
    "make test, fresh clone": 480.0,
}


def captured_rows(project: Path, path: Path, rows: int) -> Path:
    """A capture file of at least `rows` rows: the project's clean sample capture, repeated."""
    lines = next((project / "data" / "sample" / "capture" / "clean").glob("*.jsonl")).read_text().splitlines()
    per_line = [rows_in(json.loads(line)["captureData"]["endpointInput"]) for line in lines]
    repeats = -(-rows // sum(per_line))
    path.write_text("\n".join(lines * repeats) + "\n")
    return path


def rows_in(request: dict) -> int:
    if request["observedContentType"] == "text/csv":
        return len([line for line in request["data"].split("\n") if line])
    payload = json.loads(request["data"])
    return len(payload["instances"]) if isinstance(payload, dict) and "instances" in payload else 1


def csv_rows(source: Path, path: Path, rows: int) -> Path:
    """A CSV file of `rows` rows: the sample data's rows, repeated, under its header."""
    header, *lines = source.read_text().splitlines()
    repeats = -(-rows // len(lines))
    path.write_text("\n".join([header, *(lines * repeats)[:rows]]) + "\n")
    return path


def paired_ratio(ours, floor, rounds: int) -> float:
    """The median of our seconds over the floor's, timed in turns (ours, floor, ours, ...), so
    that a change in the machine's speed during the runs moves both alike."""
    ratios = []
    for _ in range(rounds):
        ratios.append(median_seconds(ours, rounds=1) / median_seconds(floor, rounds=1))
    return statistics.median(ratios)


def median_seconds(action, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def run_in(project: Path, command: list[str], **variables: str) -> subprocess.CompletedProcess:
    """Run a command in the project, its package importable as from an installed copy."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), **variables}
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=True)


def printed_median(command: list[str], project: Path, rounds: int) -> float:
    """The median of the number the command prints, over `rounds` runs."""
    return statistics.median(float(run_in(project, command).stdout) for _ in range(rounds))


@contextlib.contextmanager
def every_core_busy():
    """One spinning process per CPU for as long as the block runs."""
    spin = [sys.executable, "-c", "while True: pass"]
    spinners = [subprocess.Popen(spin) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def make_seconds(project: Path, target: str, **variables: str) -> float:
    """The seconds of one `make <target>` in the project (PYTHON, UV as the harness's)."""
    python = harness.find_python(harness.DEFAULT_PYTHON)
    command = ["make", target, f"PYTHON={python}", f"UV={harness.UV}"]
    start = time.perf_counter()
    subprocess.run(command, cwd=project, env={**os.environ, **variables}, capture_output=True, check=True)
    return time.perf_counter() - start


def setup_and_test(scratch: Path) -> tuple[float, float, float]:
    """`make setup` in fresh renders, warm and with an empty uv cache; then `make test`, warm."""
    renders = iter(range(100))

    def fresh() -> Path:
        return harness.render(scratch / f"setup-{next(renders)}", _init_git="yes")

    warm_setup = statistics.median(make_seconds(fresh(), "setup") for _ in range(3))
    empty_cache = str(scratch / "empty-uv-cache")
    cold_setup = make_seconds(fresh(), "setup", UV_CACHE_DIR=empty_cache)
    shutil.rmtree(empty_cache)
    project = fresh()
    make_seconds(project, "test")  # builds .venv and .venv-checkov, compiles what the suite imports
    return warm_setup, cold_setup, statistics.median(make_seconds(project, "test") for _ in range(3))


def fresh_clone_runs(scratch: Path) -> tuple[float, float]:
    """`make demo`, then `make test` with CI=true, in a fresh clone of HEAD."""
    clone = scratch / "clone"
    subprocess.run(["git", "clone", "--quiet", str(harness.TEMPLATE_DIR), str(clone)], check=True)
    seconds = []
    for target in ("demo", "test"):
        start = time.perf_counter()
        subprocess.run(["make", target], cwd=clone, env={**os.environ, "CI": "true"}, capture_output=True, check=True)
        seconds.append(time.perf_counter() - start)
    return seconds[0], seconds[1]


def main() -> int:
    python = str(harness.project_env())
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        renders = iter(range(100))
        # The true default, git repository included.
        render = median_seconds(lambda: harness.render(scratch / f"render-{next(renders)}", _init_git="yes"), rounds=7)
        setups_and_test = setup_and_test(scratch)
        project = harness.render(scratch / "project")

        local_run_command = [python, "-m", f"{PACKAGE}.pipeline.local", "--runs-dir", "runs"]
        # The first run builds the definition; later ones reuse it (same code and settings).
        first_local_run = median_seconds(lambda: run_in(project, local_run_command), rounds=1)
        local_run = median_seconds(lambda: run_in(project, local_run_command), rounds=5)
        with every_core_busy():
            loaded_run = median_seconds(lambda: run_in(project, local_run_command), rounds=5)
        definition_command = [python, "-m", f"{PACKAGE}.pipeline", "definition", "--output", os.devnull]
        definition = median_seconds(lambda: run_in(project, definition_command), rounds=5)
        importing = printed_median([python, "-c", IMPORT_SCRIPT.format(module=f"{PACKAGE}.infer")], project, rounds=9)
        run_dir = next((project / "runs").iterdir())
        model_dir = run_dir / "jobs" / "Train" / "model"  # pipeline/local.py's RUN_MODEL
        latency = printed_median([python, "-c", LATENCY_SCRIPT, str(model_dir)], project, rounds=3)
        capture = captured_rows(project, scratch / "capture.jsonl", DRIFT_ROWS)
        reports = iter(range(100))
        check_command = [python, "-m", f"{PACKAGE}.monitor", "check", "--capture", str(capture)]
        baseline = run_dir / "jobs" / "Baseline" / "processing" / "baseline" / "baseline.json"  # RUN_BASELINE
        check_command += ["--baseline", str(baseline)]
        # With every CPU, as in the scheduled job (threads.py gives a SageMaker job all of them).
        every_cpu = str(os.cpu_count() or 1)
        drift_check = median_seconds(
            lambda: run_in(
                project, [*check_command, "--output-dir", str(scratch / f"drift-{next(reports)}")], ML_THREADS=every_cpu
            ),
            rounds=3,
        )
        big_batch = csv_rows(project / "data" / "sample" / "breast_cancer.csv", scratch / "batch.csv", SCORING_ROWS)
        outputs = iter(range(100))
        scoring_command = [python, "-m", f"{PACKAGE}.infer", "--model-dir", str(model_dir), "--input", str(big_batch)]
        floor_command = [python, "-c", FLOOR_SCRIPT, str(model_dir), str(big_batch), str(scratch / "floor.csv")]
        scoring = paired_ratio(
            lambda: run_in(project, [*scoring_command, "--output-dir", str(scratch / f"scored-{next(outputs)}")]),
            lambda: run_in(project, floor_command),
            rounds=3,
        )
        monitor_import = printed_median([python, "-c", IMPORT_SCRIPT.format(module=MONITOR_MODULES)], project, rounds=9)
        clone_runs = fresh_clone_runs(scratch)

    medians = [render, *setups_and_test, first_local_run, local_run, loaded_run, definition, importing, latency]
    medians += [drift_check, scoring]
    medians += [monitor_import, *clone_runs]
    print(f"{'benchmark (median)':<50}{'seconds':>10}{'goal':>10}")
    for (name, goal), seconds in zip(GOALS.items(), medians, strict=True):
        verdict = "" if goal is None else f"{'<':>4} {goal:<7}{'ok' if seconds < goal else 'MISSED'}"
        print(f"{name:<50}{seconds:>10.4f}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
