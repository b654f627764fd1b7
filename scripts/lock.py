"""`make lock`: refresh the locks the template ships, one per dependency variant (needs PyPI).

A render needs no network to have its uv.lock: it is rendered from templates/locks/<framework>.lock,
the lock of that variant's default render with the project's name put back as a template
variable. This renders each variant, relocks it with its own `make lock` (which keeps every
locked version that still fits; `make lock ARGS=--upgrade` moves all to the newest allowed), and
stores the result. tests/test_locks.py fails while a shipped lock is stale.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness


def main(lock_options: list[str]) -> int:
    python = harness.find_python(harness.DEFAULT_PYTHON)
    if python is None:
        print(f"lock: error: Python {harness.DEFAULT_PYTHON} not found; install it or put it on PATH", file=sys.stderr)
        return 1
    for framework in harness.CHOICES["model_framework"]:
        with tempfile.TemporaryDirectory() as scratch:
            project = harness.render(Path(scratch), model_framework=framework)
            command = [sys.executable, "scripts/lock.py", "--uv", harness.UV, "--python", python, *lock_options]
            if subprocess.run(command, cwd=project, env=harness.uv_environment()).returncode:
                return 1
            lock = harness.templated_lock((project / "uv.lock").read_text(encoding="utf-8"), project.name)
            harness.shipped_lock(framework).write_text(lock, encoding="utf-8")
        print(f"lock: wrote {harness.shipped_lock(framework).relative_to(harness.TEMPLATE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
