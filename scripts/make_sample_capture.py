"""Write the generated projects' captured-traffic samples: a clean one and a drifted copy.

Run by hand when the sample data, the handler's formats or the default model change
(`.venv/bin/python scripts/make_sample_capture.py`). For each problem type and framework it
renders a project and runs that project's own `make sample-captures` steps: a local run, then
`python -m <package>.monitor.samples write` (which says how the captures are made), and copies
the captures into the template. Everything is seeded, so a rerun writes the same files.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness

CAPTURE_DIR = harness.TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "data" / "sample" / "capture"
PACKAGE = "customer_churn"


def main() -> int:
    for answers in harness.COMBINATIONS:
        python = str(harness.project_env(answers["model_framework"]))
        with tempfile.TemporaryDirectory() as scratch:
            project = harness.render(Path(scratch), **answers)
            env = {**os.environ, "PYTHONPATH": str(project / "src")}
            for step in (["pipeline.local"], ["monitor.samples", "write"]):
                command = [python, "-m", f"{PACKAGE}.{step[0]}", *step[1:]]
                subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
            for written in sorted((project / "data" / "sample" / "capture").glob("*/*.jsonl")):
                path = CAPTURE_DIR / written.parent.name / written.name
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(written, path)
                requests = len(path.read_text().splitlines())
                print(f"wrote {path.relative_to(harness.TEMPLATE_DIR)}: {requests} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
