"""`make demo`: render the default project, set it up with its own Makefile, run it end to end,
then draw the SageMaker Pipeline it defines (built offline, no AWS account).

Each demo renders into a new folder under build/demo/, so an earlier demo and its runs are
never overwritten; the demo virtualenv (build/demo/venv) is shared between demos.
"""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness


def main() -> int:
    version = harness.DEFAULT_PYTHON
    python = harness.find_python(version)
    if python is None:
        print(f"demo: error: Python {version} not found; install it or put python{version} on PATH", file=sys.stderr)
        return 1
    demo_dir = harness.BUILD_DIR / "demo"
    output_dir = demo_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    project = harness.render(output_dir, _init_git="yes")
    print(f"demo: rendered the default project into {project}", flush=True)
    make = ["make", "run-local", f"PYTHON={python}", f"VENV={demo_dir / 'venv'}", f"UV={harness.UV}"]
    result = subprocess.run(make, cwd=project)
    if result.returncode:
        return result.returncode
    package = next((project / "src").glob("*/pipeline")).parent.name
    print(f"\ndemo: the SageMaker Pipeline ({package}.pipeline diagram, built with no AWS account):", flush=True)
    diagram = [str(demo_dir / "venv" / "bin" / "python"), "-m", f"{package}.pipeline", "diagram"]
    return subprocess.run(diagram, cwd=project).returncode


if __name__ == "__main__":
    sys.exit(main())
