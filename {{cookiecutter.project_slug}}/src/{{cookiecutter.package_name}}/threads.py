"""How many threads the numeric libraries may use; every step applies the limit first.

scikit-learn's gradient boosting and XGBoost (OpenMP) and numpy's BLAS start one thread per
CPU. On a machine that other work also loads, those threads wait on each other: a fit that
takes 0.2 s with one thread took 10 to 36 s on a busy 2-core machine. The limit is:

- `$ML_THREADS` (settings.THREADS_VARIABLE) when set, a positive whole number;
- in a SageMaker processing or training job, every CPU the job has: the instance is its own;
- elsewhere (a laptop, CI), half the CPUs this process may use, at least one, which leaves
  the rest to the machine's other work.

Endpoints set OMP_NUM_THREADS=1 in the model's environment instead (pipeline/definition.py):
the serving containers run one worker process per CPU.
"""

import os
import sys
from collections.abc import Mapping

from . import settings

# Files SageMaker writes into every training and processing job's container.
SAGEMAKER_JOB_FILES = (
    settings.OPT_ML / "input" / "config" / "resourceconfig.json",
    settings.OPT_ML / "config" / "processingjobconfig.json",
)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may run on (Linux)
    except AttributeError:  # macOS and Windows
        return os.cpu_count() or 1


def count(environ: Mapping[str, str] | None = None, job_files=SAGEMAKER_JOB_FILES) -> int:
    """The thread limit for this process (see the module docstring)."""
    env = os.environ if environ is None else environ
    given = env.get(settings.THREADS_VARIABLE, "")
    if given:
        if not given.isdigit() or int(given) < 1:
            raise settings.SettingsError(
                f"{settings.THREADS_VARIABLE}={given!r}: expected a positive whole number, e.g. 2"
            )
        return int(given)
    if any(path.exists() for path in job_files):
        return available_cpus()
    return max(1, available_cpus() // 2)


def limit(prog: str) -> int:
    """Limit the thread pools of every numeric library loaded so far; return the limit.

    Call it after the libraries are imported: a library loaded later keeps its default.
    """
    from threadpoolctl import threadpool_limits

    try:
        threads = count()
    except settings.SettingsError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    threadpool_limits(threads)
    return threads
