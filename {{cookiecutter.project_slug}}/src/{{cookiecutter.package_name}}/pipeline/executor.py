"""Execute a SageMaker Pipeline definition (the JSON `upsert` uploads) on this machine.

An execution runs in one folder, its run folder:

    <run>/s3/<bucket>/<key>   S3: every s3:// URI of the definition is a path here
    <run>/jobs/<step>/        the job's /opt/ml, with what SageMaker would have put there
    <run>/jobs/<step>.log     the job's output (stdout and stderr), as CloudWatch would hold it
    <run>/execution.json      each step's status and properties, like ListPipelineExecutionSteps

Steps run in dependency order (the `Get` references they hold, and `DependsOn`); steps that
do not depend on each other run at once. A Processing or Training step is a subprocess of the
interpreter of the environment its image maps to (`interpreter_of`), started with the
definition's entrypoint, arguments and environment. Its inputs and channels are copied from
the S3 folder into its /opt/ml as SageMaker downloads them (an S3Prefix matches keys by
prefix); a training job gets `hyperparameters.json`, `inputdataconfig.json` and
`resourceconfig.json`, and its /opt/ml/model is packed as
`<S3OutputPath>/<job name>/output/model.tar.gz`. Processing outputs are copied to their S3Uri
when the job ends.

A job of N instances (InstanceCount) runs as N processes at once, hosts algo-1 to algo-N,
each in a folder of its own (`<run>/jobs/<step>/<host>/`, its log `<host>.log`) with its
resource config. A ShardedByS3Key input gives each host every N-th object of the keys in
order, from its place on; the others are copied whole to every host. The hosts' processing
outputs go to the same S3 prefix (two hosts writing the same file stops the run: one would
overwrite the other); a training job's model is its first host's. When one host fails, the
others are stopped, as they may be waiting on it.

The differences from a job on SageMaker: the job's /opt/ml is a folder of the run. Every value
of its entrypoint, arguments and environment that starts with /opt/ml is rewritten to that
folder, and OPT_ML_DIR names it: `settings.OPT_ML`, where the job code finds its paths. And
the hosts of a job of several are processes of this machine, where their names resolve to
nothing: a training job's hosts are told where the first host's tracker listens in
DMLC_TRACKER_URI and DMLC_TRACKER_PORT, and share the CPUs (ML_THREADS, unless set, is each
host's share).

A Tuning step runs its trials as training jobs, in the image's script mode, and lists them best
first by its objective (`_tuning`). Condition steps run their IfSteps or ElseSteps; a Fail step
ends the execution with its rendered ErrorMessage; a RegisterModel step hands its resolved
request to `register` (the local model registry). Nothing is skipped silently: a step type,
input mode, property path or function the executor does not know stops the run with one line
that names the step. Two settings change how often SageMaker runs a step, never what it
computes, and are not applied: every step runs once, neither reused from an earlier execution
(CacheConfig) nor retried (RetryPolicies).

With `preload` (Linux), jobs start warm: `starter.py` forks them from a process that has
imported the image's libraries once; a job sees what a new process would (test_executor.py).
"""

import atexit
import contextlib
import io
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path

from .. import settings, threads
from .expressions import Execution, ExpressionError, holds, resolve

CONTAINER_ROOT = "/opt/ml"
PYTHONS = ("python3", "python")
STARTER = Path(__file__).with_name("starter.py")
# Forked jobs need fork(); macOS's system libraries are not safe to use after it.
CAN_START_WARM = sys.platform == "linux"
# What a job inherits from this machine's environment: enough to start a process, no more.
PASSED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "ML_THREADS")
REFERENCE = re.compile(r"Steps\.([A-Za-z0-9_-]+)")
METADATA_TEXT = re.compile(f"[{settings.METADATA_CHARACTERS}]+")


class ExecutionError(RuntimeError):
    """The execution cannot go on; the message names the step and the reason, on one line."""

    def __init__(self, step: str, reason: str):
        super().__init__(f"step {step}: {reason}")
        self.step = step


class JobFailedError(ExecutionError):
    """A job exited with a non-zero `status` (2: the job code refused its input)."""

    def __init__(self, step: str, reason: str, status: int):
        super().__init__(step, reason)
        self.status = status


class FailStepError(ExecutionError):
    """A Fail step ran: the execution failed with its ErrorMessage."""

    def __init__(self, step: str, message: str):
        super().__init__(step, message)
        self.message = message


@dataclass
class RunFolder:
    """The folder of one execution, and the S3 locations inside it."""

    root: Path

    def __post_init__(self):
        # Jobs run in folders of their own: a relative path would name another place there.
        self.root = Path(self.root).absolute()

    def s3(self, uri: str, step: str) -> Path:
        """The path an s3:// URI stands for."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ExecutionError(step, f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        parts = [part for part in key.split("/") if part]
        if not bucket or any(part in (".", "..") for part in parts):
            raise ExecutionError(step, f"{uri!r} names no bucket and key")
        return self.root.joinpath("s3", bucket, *parts)

    def job(self, step: str, host: str | None = None) -> Path:
        """A job's /opt/ml; a job of several instances has one per host inside its folder."""
        return self.root / "jobs" / step / host if host else self.root / "jobs" / step


def objects(folder: RunFolder, uri: str, step: str) -> list[tuple[str, Path]]:
    """The objects whose keys start with the URI's key, as (key after it, path): S3's prefix.

    A key that names one object whole gives that object under its own name.
    """
    path = folder.s3(uri, step)
    bucket_dir = folder.root / "s3" / uri.removeprefix("s3://").partition("/")[0]
    prefix = path.relative_to(bucket_dir).as_posix() + ("/" if uri.endswith("/") else "")
    if path.is_file():
        return [(path.name, path)]
    start = path if uri.endswith("/") else path.parent
    found = []
    for candidate in sorted(start.rglob("*")) if start.is_dir() else []:
        key = candidate.relative_to(bucket_dir).as_posix()
        if candidate.is_file() and key.startswith(prefix):
            found.append((key[len(prefix) :].lstrip("/"), candidate))
    return found


def download(
    folder: RunFolder, uri: str, destination: Path, step: str, name: str, shard=(0, 1)
) -> None:
    """Copy the objects under `uri` into `destination`, as a job's input is placed.

    shard: (this host's rank, the number of hosts) of a ShardedByS3Key input: the host gets
    every n-th object of the keys in order, from its rank on. (SageMaker promises each host
    about 1/n of the objects, and no rule; this is the executor's.) A host may get none.
    """
    found = objects(folder, uri, step)
    if not found:
        raise ExecutionError(step, f"input {name}: no object under {uri}")
    rank, hosts = shard
    destination.mkdir(parents=True, exist_ok=True)
    for key, path in found[rank::hosts]:
        target = destination / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def upload(folder: RunFolder, source: Path, uri: str, step: str) -> list[Path]:
    """Copy what a job wrote under `source` to the S3 prefix `uri`; the paths written."""
    if not source.is_dir():
        return []
    destination = folder.s3(uri, step)
    written = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    return written


def pack(source: Path, archive: Path) -> None:
    """`source`'s files as a tar.gz, as a training job packs /opt/ml/model."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source.rglob("*")) if source.is_dir() else []:
            tar.add(path, arcname=path.relative_to(source).as_posix(), recursive=False)
    archive.write_bytes(buffer.getvalue())


def references(value) -> set[str]:
    """The steps whose properties or property files `value` reads."""
    if isinstance(value, dict):
        get = value.get("Get")
        own = (
            {match.group(1)} if isinstance(get, str) and (match := REFERENCE.match(get)) else set()
        )
        return own.union(*(references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(references(item) for item in value))
    return set()


def _step_references(step: dict) -> set[str]:
    if step["Type"] == "Condition":  # the branches' steps wait for their own references
        branches = ("IfSteps", "ElseSteps")
        return references([v for k, v in step["Arguments"].items() if k not in branches])
    return references(step.get("Arguments", {})) | references(step.get("PropertyFiles", []))


@dataclass
class Plan:
    """Every step (branches included), what each waits for, and the branch each lies on."""

    steps: dict[str, dict]
    waits_for: dict[str, set[str]]
    branch_of: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @classmethod
    def of(cls, definition: dict) -> "Plan":
        steps, branch_of = {}, {}

        def add(step: dict, branch: tuple[str, bool] | None) -> None:
            name = step["Name"]
            if name in steps:
                raise ExecutionError(name, "two steps have this name")
            steps[name] = step
            if branch:
                branch_of[name] = branch
            if step["Type"] == "Condition":
                for outcome, key in ((True, "IfSteps"), (False, "ElseSteps")):
                    for inner in step["Arguments"].get(key, []):
                        add(inner, (name, outcome))

        for step in definition["Steps"]:
            add(step, None)
        waits_for = {}
        for name, step in steps.items():
            needs = _step_references(step) | set(step.get("DependsOn", []))
            if name in branch_of:
                needs.add(branch_of[name][0])
            unknown = sorted(needs - set(steps))
            if unknown:
                raise ExecutionError(name, f"refers to {unknown[0]}, which is no step here")
            waits_for[name] = needs - {name}
        plan = cls(steps, waits_for, branch_of)
        plan.check_acyclic()
        return plan

    def check_acyclic(self) -> None:
        done: set[str] = set()
        while len(done) < len(self.steps):
            ready = [n for n in self.steps if n not in done and self.waits_for[n] <= done]
            if not ready:
                stuck = sorted(set(self.steps) - done)[0]
                raise ExecutionError(stuck, "waits for itself through other steps (a cycle)")
            done.update(ready)


def _container_path(value: str, root: Path) -> str:
    """A container path under /opt/ml, as the path of the job's folder."""
    if value == CONTAINER_ROOT or value.startswith(CONTAINER_ROOT + "/"):
        return str(root) + value[len(CONTAINER_ROOT) :]
    return value


def _environment_value(value: str, root: Path) -> str:
    return os.pathsep.join(_container_path(part, root) for part in value.split(os.pathsep))


class WarmJob:
    """A job a starter forked: waited for, and signalled, like a subprocess.Popen."""

    def __init__(self, starter: "Starter", pid: int, stdout):
        self.starter, self.pid, self.stdout = starter, pid, stdout
        self.returncode: int | None = None

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self.starter.request({"wait": self.pid})["status"]
        return self.returncode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.returncode is None:  # unreaped until waited for, so the pid is still the job's
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)


class Starter:
    """One interpreter's starter process (starter.py), which forks its jobs warm."""

    def __init__(self, python: str, modules: Sequence[str], environment: Mapping[str, str]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [python, str(STARTER), str(theirs.fileno()), *modules],
            pass_fds=[theirs.fileno()],
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self.connection = ours
        self.lock = threading.Lock()

    def request(self, message: dict, descriptors: Sequence[int] = ()) -> dict:
        with self.lock:
            socket.send_fds(self.connection, [json.dumps(message).encode()], list(descriptors))
            reply = self.connection.recv(1 << 16)
        if not reply:
            raise RuntimeError(f"the job starter ended with status {self.process.wait()}")
        return json.loads(reply)

    def start(self, command: list[str], environment: Mapping[str, str], cwd: Path) -> WarmJob:
        read, write = os.pipe()
        try:
            message = {"start": command, "env": dict(environment), "cwd": str(cwd)}
            pid = self.request(message, [write])["pid"]
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        return WarmJob(self, pid, open(read))  # closed by the reader, at the job's end

    def close(self) -> None:
        self.connection.close()
        self.process.kill()  # idle: nothing of it to wind down, and exiting costs it a second
        self.process.wait()


# Executions of one process share starters: each set of imports is done once per process.
SHARED_STARTERS: dict[tuple, Starter] = {}
SHARED_STARTERS_LOCK = threading.Lock()


def shared_starter(python: str, modules: Sequence[str], environment: Mapping[str, str]) -> Starter:
    """The starter of these modules and this environment, started on first use."""
    key = (python, tuple(modules), tuple(sorted(environment.items())))
    with SHARED_STARTERS_LOCK:
        if not SHARED_STARTERS:
            atexit.register(close_shared_starters)
        if key not in SHARED_STARTERS or SHARED_STARTERS[key].process.poll() is not None:
            SHARED_STARTERS[key] = Starter(python, modules, environment)
        return SHARED_STARTERS[key]


def close_shared_starters() -> None:
    with SHARED_STARTERS_LOCK:
        for starter in SHARED_STARTERS.values():
            starter.close()
        SHARED_STARTERS.clear()


class Executor:
    """Runs one definition in one run folder; `run` returns the execution's step records.

    interpreter_of: image URI -> the Python of the environment holding that image's versions
    (raises LookupError saying why when there is none).
    register: (step name, resolved RegisterModel request) -> that step's properties.
    preload: modules each interpreter's starter imports once, so that the jobs it forks start
    warm (`starter.py`; Linux only); none: each job is a new process.
    log: receives each line a job writes, prefixed by the step's name.
    """

    def __init__(
        self,
        definition: dict,
        folder: RunFolder,
        execution: Execution,
        interpreter_of: Callable[[str], str],
        register: Callable[[str, dict], dict],
        job_environment: Mapping[str, str] | None = None,
        preload: Sequence[str] = (),
        log: Callable[[str], None] = print,
    ):
        self.plan = Plan.of(definition)
        self.folder = folder
        self.execution = execution
        self.interpreter_of = interpreter_of
        self.register = register
        self.job_environment = dict(job_environment or {})
        self.log = log
        self.records: dict[str, dict] = {}
        self.processes: set[subprocess.Popen | WarmJob] = set()
        self.lock = threading.Lock()
        self.preload = list(preload) if CAN_START_WARM else []
        self.starters: dict[str, Starter] = {}

    def run(self) -> dict[str, dict]:
        """Every step that can run, in order; raise the first step's error once others end."""
        running: dict[Future, str] = {}
        error: BaseException | None = None
        self._start_starters()
        with ThreadPoolExecutor(max_workers=max(1, len(self.plan.steps))) as pool:
            try:
                while True:
                    if error is None:
                        for name in self._ready():
                            self.records[name] = {"StepName": name, "StepStatus": "Executing"}
                            running[pool.submit(self._run_step, name)] = name
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = running.pop(future)
                        failure = future.exception()
                        self.records[name]["StepStatus"] = "Failed" if failure else "Succeeded"
                        if failure is not None:
                            self.records[name]["FailureReason"] = str(failure)
                            error = error or failure
            except KeyboardInterrupt:
                self._stop_jobs()
                self._write_record("Stopped", None)
                raise
        self._write_record("Failed" if error else "Succeeded", error)
        if error is not None:
            raise error
        return self.records

    def _ready(self) -> list[str]:
        """The steps whose dependencies succeeded; a branch not taken is marked NotExecuted."""
        succeeded = {n for n, r in self.records.items() if r["StepStatus"] == "Succeeded"}
        ready = []
        for name, needs in self.plan.waits_for.items():
            if name in self.records:
                continue
            branch = self.plan.branch_of.get(name)
            outcome = self.records.get(branch[0], {}).get("Outcome") if branch else None
            if outcome is not None and outcome != branch[1]:  # whatever else it waits for
                self.records[name] = {"StepName": name, "StepStatus": "NotExecuted"}
                continue
            if needs <= succeeded:
                ready.append(name)
        return ready

    def _run_step(self, name: str) -> None:
        step = self.plan.steps[name]
        kind = step["Type"]
        runners = {
            "Processing": self._processing,
            "Training": self._training,
            "Condition": self._condition,
            "Fail": self._fail,
            "RegisterModel": self._register,
            "Tuning": self._tuning,
        }
        if kind not in runners:
            raise ExecutionError(name, f"type {kind} is not one the executor runs")
        try:  # a Condition step's conditions are evaluated by `holds`, its branches later
            arguments = (
                step["Arguments"]
                if kind == "Condition"
                else resolve(step.get("Arguments", {}), self.execution, name)
            )
        except ExpressionError as error:
            raise ExecutionError(name, str(error).removeprefix(f"step {name}: ")) from None
        properties = runners[kind](name, step, arguments)
        self.records[name]["Properties"] = properties
        with self.lock:
            self.execution.steps[name] = properties

    # Step types -------------------------------------------------------------------------------

    def _processing(self, name: str, step: dict, request: dict) -> dict:
        hosts = self._hosts(name, request["ProcessingResources"]["ClusterConfig"])
        job_dir = self.folder.job(name)
        application = request["AppSpecification"]
        entrypoint = application.get("ContainerEntrypoint")
        if not entrypoint:
            raise ExecutionError(name, "no ContainerEntrypoint: the image's own program is not run")
        for rank, host in enumerate(hosts):
            root = self._job_root(job_dir, host, hosts)
            for item in request.get("ProcessingInputs", []):
                input_name, source = item["InputName"], item.get("S3Input")
                if source is None:
                    raise ExecutionError(name, f"input {input_name}: only S3Input is run")
                self._check_input(name, input_name, source, "S3InputMode")
                shard = self._shard(source.get("S3DataDistributionType"), rank, hosts)
                local = self._local(name, source, root)
                download(self.folder, source["S3Uri"], local, name, input_name, shard)
            self._write_json(root / "config" / "processingjobconfig.json", request)
            self._write_json(
                root / "config" / "resourceconfig.json", _resource_config(request, hosts, host)
            )
        command = [*entrypoint, *application.get("ContainerArguments", [])]
        seconds = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        environment = request.get("Environment", {})
        self._run_hosts(
            name, job_dir, hosts, application["ImageUri"], command, environment, seconds
        )
        outputs = {}
        for output in request.get("ProcessingOutputConfig", {}).get("Outputs", []):
            destination = output["S3Output"]
            writers: dict[Path, str] = {}
            for host in hosts:
                root = self._job_root(job_dir, host, hosts, made=True)
                source = self._local(name, destination, root)
                for path in upload(self.folder, source, destination["S3Uri"], name):
                    if path in writers:
                        raise ExecutionError(
                            name,
                            f"hosts {writers[path]} and {host} both wrote {path.name} to output "
                            f"{output['OutputName']}: one would overwrite the other; give each "
                            "host's files names of their own",
                        )
                    writers[path] = host
            outputs[output["OutputName"]] = output
        self._property_files(name, step, outputs)
        job_name = self._job_name(name)
        return {
            **request,
            "ProcessingJobName": job_name,
            "ProcessingJobStatus": "Completed",
            "ProcessingOutputConfig": {"Outputs": outputs},
        }

    def _training(
        self,
        name: str,
        step: dict,
        request: dict,
        job_dir: Path | None = None,
        job_name: str | None = None,
        trial: tuple[str, Path] | None = None,
    ) -> dict:
        """A training job. A tuning job's trial gives its own folder and name, and (its name in
        the log, its code archive): the archive is unpacked into each host's /opt/ml/code."""
        job_dir = job_dir or self.folder.job(name)
        job_name = job_name or self._job_name(name)
        hosts = self._hosts(name, request["ResourceConfig"])
        algorithm = request["AlgorithmSpecification"]
        if algorithm.get("TrainingInputMode", "File") != "File":
            raise ExecutionError(name, f"input mode {algorithm['TrainingInputMode']} is not run")
        hyperparameters = request.get("HyperParameters", {})
        not_text = sorted(
            key for key, value in hyperparameters.items() if not isinstance(value, str)
        )
        if not_text:
            raise ExecutionError(name, f"hyperparameter {not_text[0]} is not a string")
        entrypoint = algorithm.get("ContainerEntrypoint")
        if not entrypoint:
            raise ExecutionError(name, "no ContainerEntrypoint: the image's own program is not run")
        output = request["OutputDataConfig"]
        if output.get("CompressionType", "GZIP") != "GZIP":
            raise ExecutionError(name, f"model compression {output['CompressionType']} is not run")
        for rank, host in enumerate(hosts):
            root = self._job_root(job_dir, host, hosts)
            channels = {}
            for channel in request.get("InputDataConfig", []):
                source = channel["DataSource"].get("S3DataSource")
                if source is None:
                    raise ExecutionError(name, f"channel {channel['ChannelName']}: only S3 is run")
                self._check_input(name, channel["ChannelName"], {**source, **channel}, "InputMode")
                distribution = source.get("S3DataDistributionType", "FullyReplicated")
                target = root / "input" / "data" / channel["ChannelName"]
                shard = self._shard(distribution, rank, hosts)
                download(self.folder, source["S3Uri"], target, name, channel["ChannelName"], shard)
                channels[channel["ChannelName"]] = {
                    "TrainingInputMode": "File",
                    "S3DistributionType": distribution,
                    "RecordWrapperType": "None",
                }
            config = root / "input" / "config"
            self._write_json(config / "hyperparameters.json", hyperparameters)
            self._write_json(config / "inputdataconfig.json", channels)
            self._write_json(config / "resourceconfig.json", _resource_config(request, hosts, host))
            (root / "model").mkdir(parents=True, exist_ok=True)
            (root / "output" / "data").mkdir(parents=True, exist_ok=True)
            if trial:
                with tarfile.open(trial[1]) as archive:
                    archive.extractall(root / "code", filter="data")
        command = [*entrypoint, *algorithm.get("ContainerArguments", [])]
        seconds = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        environment = request.get("Environment", {})
        if len(hosts) > 1:  # the hosts' names resolve to nothing here: say where the tracker is
            environment = {**environment, **_tracker_address()}
        image, job = algorithm["TrainingImage"], trial[0] if trial else ""
        lines = self._run_hosts(name, job_dir, hosts, image, command, environment, seconds, job)
        roots = [self._job_root(job_dir, host, hosts, made=True) for host in hosts]
        for host, root in zip(hosts[1:], roots[1:], strict=True):
            if any((root / "model").iterdir()) or any((root / "output" / "data").iterdir()):
                raise ExecutionError(
                    name,
                    f"host {host} wrote to /opt/ml/model or /opt/ml/output/data: write the "
                    f"model and its outputs on the first host ({hosts[0]}) alone",
                )
        prefix = f"{output['S3OutputPath'].rstrip('/')}/{job_name}/output"
        pack(roots[0] / "model", self.folder.s3(f"{prefix}/model.tar.gz", name))
        if any((roots[0] / "output" / "data").iterdir()):
            pack(roots[0] / "output" / "data", self.folder.s3(f"{prefix}/output.tar.gz", name))
        return {
            **request,
            "TrainingJobName": job_name,
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": f"{prefix}/model.tar.gz"},
            "FinalMetricDataList": _metrics(algorithm.get("MetricDefinitions", []), lines),
        }

    def _tuning(self, name: str, step: dict, request: dict) -> dict:
        """A hyperparameter tuning job: MaxNumberOfTrainingJobs trials, at most
        MaxParallelTrainingJobs at once, each a training job with hyperparameters drawn from the
        ranges; the trials are listed best first by the objective, as SageMaker lists them.

        SageMaker's strategies (Bayesian, say) choose each trial from the ones before; here every
        trial is drawn at random (seeded by RandomSeed, else 0), the same search space and count.
        A tuning job runs the image's own entrypoint, the framework's training toolkit in script
        mode, which the trial's command reproduces (`_script_mode`). A trial that fails is
        listed as Failed, as SageMaker lists it; the step fails only when every trial failed.
        """
        config = request["HyperParameterTuningJobConfig"]
        definition = request["TrainingJobDefinition"]
        limits, objective = config["ResourceLimits"], config["HyperParameterTuningJobObjective"]
        draw = _sampler(name, config.get("ParameterRanges", {}), config.get("RandomSeed", 0))
        job_name = self._job_name(name)
        code = self._code_archive(name, definition.get("StaticHyperParameters", {}))
        trials = [
            (f"{job_name}-{number:03d}", draw())
            for number in range(1, limits["MaxNumberOfTrainingJobs"] + 1)
        ]

        def run(trial: tuple[str, dict]) -> dict:
            trial_name, tuned = trial
            summary = {"TrainingJobName": trial_name, "TunedHyperParameters": tuned}
            trial_request = _script_mode({**definition, "TrainingJobName": trial_name}, tuned)
            label = f"trial {trial_name.rsplit('-', 1)[1]}"
            try:
                properties = self._training(
                    name,
                    step,
                    trial_request,
                    self.folder.job(name, trial_name),
                    trial_name,
                    (label, code),
                )
            except ExecutionError as error:
                return {**summary, "TrainingJobStatus": "Failed", "FailureReason": str(error)}
            found = {m["MetricName"]: m["Value"] for m in properties["FinalMetricDataList"]}
            if objective["MetricName"] not in found:
                reason = f"{label}: printed no {objective['MetricName']}"
                return {**summary, "TrainingJobStatus": "Failed", "FailureReason": reason}
            metric = {**objective, "Value": found[objective["MetricName"]]}
            return {
                **summary,
                "TrainingJobStatus": "Completed",
                "FinalHyperParameterTuningJobObjectiveMetric": metric,
            }

        parallel = max(1, limits.get("MaxParallelTrainingJobs", 1))
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            summaries = list(pool.map(run, trials))
        completed = [s for s in summaries if s["TrainingJobStatus"] == "Completed"]
        if not completed:
            raise ExecutionError(
                name, f"every trial failed; the first: {summaries[0]['FailureReason']}"
            )
        best_first = objective["Type"] == "Maximize"
        completed.sort(
            key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
            reverse=best_first,
        )
        failed = [s for s in summaries if s["TrainingJobStatus"] == "Failed"]
        return {
            **request,
            "HyperParameterTuningJobName": job_name,
            "HyperParameterTuningJobStatus": "Completed",
            "BestTrainingJob": completed[0],
            "TrainingJobSummaries": [*completed, *failed],
            "TrainingJobStatusCounters": {"Completed": len(completed), "Failed": len(failed)},
        }

    def _code_archive(self, name: str, static: dict) -> Path:
        """The archive script mode takes its code from (sagemaker_submit_directory)."""
        if "sagemaker_program" not in static or "sagemaker_submit_directory" not in static:
            raise ExecutionError(
                name,
                "a tuning job runs the image's script mode: StaticHyperParameters need "
                "sagemaker_program and sagemaker_submit_directory",
            )
        archive = self.folder.s3(static["sagemaker_submit_directory"], name)
        if not archive.is_file():
            raise ExecutionError(name, f"no code archive at {static['sagemaker_submit_directory']}")
        return archive

    def _condition(self, name: str, step: dict, arguments: dict) -> dict:
        try:
            outcome = holds(arguments.get("Conditions", []), self.execution, name)
        except ExpressionError as error:
            raise ExecutionError(name, str(error).removeprefix(f"step {name}: ")) from None
        self.records[name]["Outcome"] = outcome
        return {"Outcome": str(outcome).lower()}

    def _fail(self, name: str, step: dict, arguments: dict) -> dict:
        raise FailStepError(name, str(arguments.get("ErrorMessage", "")))

    def _register(self, name: str, step: dict, request: dict) -> dict:
        longest_value = settings.METADATA_VALUE_LENGTH
        for key, value in request.get("CustomerMetadataProperties", {}).items():
            for kind, text, longest in (("key", key, 128), ("value", value, longest_value)):
                if not METADATA_TEXT.fullmatch(text) or len(text) > longest:
                    raise ExecutionError(
                        name,
                        f"metadata {kind} {text!r}: SageMaker refuses it (at most {longest} "
                        f"letters, digits, spaces or _.:/=+-@)",
                    )
        return self.register(name, request)

    # Jobs -------------------------------------------------------------------------------------

    def _job_name(self, name: str) -> str:
        return f"pipelines-{self.execution.variables['PipelineExecutionId']}-{name}"

    def _job_root(self, job_dir: Path, host: str, hosts: list[str], made: bool = False) -> Path:
        """A host's /opt/ml: the job's folder, or a folder per host in it when several."""
        root = job_dir / host if len(hosts) > 1 else job_dir
        if not made:
            root.mkdir(parents=True)
        return root

    def _hosts(self, name: str, resources: dict) -> list[str]:
        """The job's hosts, named as SageMaker names them: algo-1 to algo-N."""
        count = resources.get("InstanceCount", 1)
        if not isinstance(count, int) or count < 1:
            raise ExecutionError(name, f"InstanceCount {count!r} is not a whole number above 0")
        return [f"algo-{number}" for number in range(1, count + 1)]

    def _shard(self, distribution: str | None, rank: int, hosts: list[str]) -> tuple[int, int]:
        if distribution == "ShardedByS3Key":
            return rank, len(hosts)
        return 0, 1

    def _local(self, name: str, item: dict, root: Path) -> Path:
        local = item["LocalPath"]
        if not local.startswith(CONTAINER_ROOT + "/"):
            raise ExecutionError(name, f"local path {local} is not under {CONTAINER_ROOT}")
        return Path(_container_path(local, root))

    def _check_input(self, name: str, input_name: str, source: dict, mode_key: str) -> None:
        unsupported = {
            "S3DataType": ("S3Prefix", source.get("S3DataType", "S3Prefix")),
            mode_key: ("File", source.get(mode_key, "File")),
            "S3CompressionType": ("None", source.get("S3CompressionType", "None")),
            "CompressionType": ("None", source.get("CompressionType", "None")),
        }
        for key, (runs, given) in unsupported.items():
            if given != runs:
                raise ExecutionError(name, f"input {input_name}: {key} {given} is not run")
        distribution = source.get("S3DataDistributionType", "FullyReplicated")
        if distribution not in ("FullyReplicated", "ShardedByS3Key"):
            raise ExecutionError(name, f"input {input_name}: {distribution} is not run")

    def _write_json(self, path: Path, document) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")

    def _property_files(self, name: str, step: dict, outputs: dict) -> None:
        for declared in step.get("PropertyFiles", []):
            output = outputs.get(declared["OutputName"])
            if output is None:
                raise ExecutionError(
                    name,
                    f"property file {declared['PropertyFileName']} reads output "
                    f"{declared['OutputName']}, which the step does not have",
                )
            uri = f"{output['S3Output']['S3Uri'].rstrip('/')}/{declared['FilePath']}"
            with self.lock:
                self.execution.property_files[name, declared["PropertyFileName"]] = self.folder.s3(
                    uri, name
                )

    def _run_hosts(
        self, name, job_dir, hosts, image, command, environment, seconds, job=""
    ) -> list[str]:
        """The job's command on each host at once; the first host's output lines. `job` names
        the job in the log and in errors when the step runs several (a tuning job's trials).

        When one host fails, the others are stopped: they may be waiting on it. On this
        machine the hosts share its CPUs, so each gets its share of the thread limit.
        """
        if len(hosts) == 1:
            return self._start(name, image, command, environment, seconds, job_dir, job)
        if settings.THREADS_VARIABLE not in os.environ:
            share = max(1, threads.available_cpus() // len(hosts))
            environment = {**environment, settings.THREADS_VARIABLE: str(share)}
        group: set = set()
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            runs = {
                pool.submit(
                    self._start,
                    name,
                    image,
                    command,
                    environment,
                    seconds,
                    job_dir / host,
                    f"{job} host {host}".strip(),
                    group,
                ): host
                for host in hosts
            }
            first_failure = None
            for future in as_completed(runs):
                if future.exception() is not None and first_failure is None:
                    first_failure = future.exception()  # the others are stopped because of it
                    with self.lock:
                        others = list(group)
                    for process in others:
                        process.terminate()
            if first_failure is not None:
                raise first_failure
            return next(future for future, host in runs.items() if host == hosts[0]).result()

    def _start(
        self, name, image, command, environment, seconds, root, part="", group=None
    ) -> list[str]:
        """Run the job's command to its end; its output lines, or ExecutionError if it failed.

        part: which job or host of the step this is ("host algo-2", "trial 3"), if not the only.
        """
        if command[0] not in PYTHONS:
            raise ExecutionError(name, f"entrypoint {command[0]}: only Python entrypoints run")
        label = f"{name} {part}" if part else name
        where = f"{part}: " if part else ""
        try:
            python = self.interpreter_of(image)
        except LookupError as error:
            raise ExecutionError(name, str(error).strip("'\"")) from None
        command = [python, *(_container_path(part, root) for part in command[1:])]
        job_environment = {
            **self._base_environment(),
            **{key: _environment_value(value, root) for key, value in environment.items()},
            settings.OPT_ML_VARIABLE: str(root),
        }
        lines: list[str] = []
        log_path = root.with_suffix(".log")
        with log_path.open("w") as log_file:
            starter = self.starters.get(python)
            if starter and len(command) > 2 and command[1] in ("-m", "-c"):
                try:
                    process = starter.start(command, job_environment, root)
                except (OSError, RuntimeError) as error:
                    raise ExecutionError(name, f"{where}the job did not start: {error}") from None
            else:
                process = subprocess.Popen(
                    command,
                    cwd=root,
                    env=job_environment,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            with self.lock:
                self.processes.add(process)
                if group is not None:
                    group.add(process)
            timed_out = threading.Event()
            timer = threading.Timer(seconds, lambda: (timed_out.set(), process.kill()))
            if seconds:
                timer.start()
            try:
                for line in process.stdout:
                    log_file.write(line)
                    lines.append(line.rstrip("\n"))
                    self.log(f"{label} | {line.rstrip()}")
                status = process.wait()
            finally:
                process.stdout.close()
                timer.cancel()
                with self.lock:
                    self.processes.discard(process)
                    if group is not None:
                        group.discard(process)
        if status:
            if timed_out.is_set():
                raise ExecutionError(name, f"{where}the job ran past MaxRuntimeInSeconds {seconds}")
            failure = root / "output" / "failure"
            reason = failure.read_text().strip() if failure.is_file() else ""
            last = reason or next((line for line in reversed(lines) if line.strip()), "")
            raise JobFailedError(
                name, f"{where}the job exited with status {status}: {last.strip()}", status
            )
        return lines

    def _base_environment(self) -> dict[str, str]:
        """What every job's environment starts from, before the step's own variables."""
        passed = {key: os.environ[key] for key in PASSED_VARIABLES if key in os.environ}
        return {**passed, **self.job_environment}

    def _start_starters(self) -> None:
        """A starter per interpreter the jobs' images map to: it imports while steps run."""
        if not self.preload:
            return
        images = set()
        for name, step in self.plan.steps.items():
            arguments = step.get("Arguments", {})
            for image in (
                arguments.get("AppSpecification", {}).get("ImageUri"),
                arguments.get("AlgorithmSpecification", {}).get("TrainingImage"),
            ):
                with contextlib.suppress(ExpressionError):  # a step's property: not known yet
                    images.add(resolve(image, self.execution, name))
        for image in sorted(image for image in images if isinstance(image, str)):
            try:
                python = self.interpreter_of(image)
            except LookupError:  # the step that names it stops the run, naming it
                continue
            self.starters[python] = shared_starter(python, self.preload, self._base_environment())

    def _stop_jobs(self) -> None:
        with self.lock:
            processes = list(self.processes)
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()

    def _write_record(self, status: str, error: BaseException | None) -> None:
        record = {
            "PipelineExecutionArn": self.execution.variables.get("PipelineExecutionArn"),
            "PipelineExecutionStatus": status,
            **({"FailureReason": str(error)} if error else {}),
            "Steps": list(self.records.values()),
        }
        self._write_json(self.folder.root / "execution.json", record)


def _resource_config(request: dict, hosts: list[str], host: str) -> dict:
    resources = request.get("ResourceConfig") or request["ProcessingResources"]["ClusterConfig"]
    return {
        "current_host": host,
        "current_instance_type": resources["InstanceType"],
        "hosts": hosts,
        "network_interface_name": "eth0",
    }


def _tracker_address() -> dict[str, str]:
    """Where a job of several hosts finds its first host's tracker, on this machine.

    On SageMaker the first host's name resolves, and its tracker listens on a fixed port; here
    every host is this machine, and the port is one that is free. The variables are those
    xgboost's own launcher gives its workers (`train/distributed.py` reads them).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"DMLC_TRACKER_URI": "127.0.0.1", "DMLC_TRACKER_PORT": str(port)}


def _sampler(step: str, ranges: dict, seed: int) -> Callable[[], dict[str, str]]:
    """Draws of the hyperparameters from the ranges, each value as a hyperparameter's text."""
    generator = random.Random(seed)

    def number(entry: dict, integer: bool) -> str:
        low, high = float(entry["MinValue"]), float(entry["MaxValue"])
        if entry.get("ScalingType", "Auto") in ("Logarithmic", "ReverseLogarithmic"):
            value = math.exp(generator.uniform(math.log(low), math.log(high)))
        else:  # Linear, and Auto, which SageMaker may also take as linear
            value = generator.uniform(low, high)
        return str(min(max(round(value), int(low)), int(high))) if integer else repr(value)

    known = {"IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges"}
    unknown = sorted(set(ranges) - known)
    if unknown:
        raise ExecutionError(step, f"{unknown[0]} are not drawn here")

    def draw() -> dict[str, str]:
        drawn = {}
        for entry in ranges.get("IntegerParameterRanges", []):
            drawn[entry["Name"]] = number(entry, integer=True)
        for entry in ranges.get("ContinuousParameterRanges", []):
            drawn[entry["Name"]] = number(entry, integer=False)
        for entry in ranges.get("CategoricalParameterRanges", []):
            drawn[entry["Name"]] = generator.choice(entry["Values"])
        return drawn

    return draw


def _script_mode(definition: dict, tuned: dict[str, str]) -> dict:
    """A trial as a training job request whose command does what the image's training toolkit
    does in script mode (sagemaker-training, sagemaker-containers): with a setup.py in the code,
    it installs the code and runs `python -m <sagemaker_program>`, the hyperparameters but the
    sagemaker_* ones as `--name value` in name order, with SM_CHANNEL_<NAME> and SM_MODEL_DIR
    among its variables. Here the unpacked code is on PYTHONPATH instead of installed."""
    hyperparameters = {**definition.get("StaticHyperParameters", {}), **tuned}
    program = hyperparameters["sagemaker_program"].removesuffix(".py")
    arguments = [
        part
        for key in sorted(hyperparameters)
        if not key.startswith("sagemaker_")
        for part in (f"--{key}", hyperparameters[key])
    ]
    names = [channel["ChannelName"] for channel in definition.get("InputDataConfig", [])]
    channels = {f"SM_CHANNEL_{name.upper()}": f"/opt/ml/input/data/{name}" for name in names}
    environment = {
        **definition.get("Environment", {}),
        **channels,
        "SM_MODEL_DIR": "/opt/ml/model",
        "PYTHONPATH": "/opt/ml/code",
    }
    return {
        **definition,
        "AlgorithmSpecification": {
            **definition["AlgorithmSpecification"],
            "ContainerEntrypoint": ["python3", "-m", program],
            "ContainerArguments": arguments,
        },
        "HyperParameters": hyperparameters,
        "Environment": environment,
    }


def _metrics(definitions: list[dict], lines: list[str]) -> list[dict]:
    """The last value each MetricDefinitions regex found in the job's output."""
    found = []
    for definition in definitions:
        pattern = re.compile(definition["Regex"])
        values = [m.group(1) for line in lines for m in [pattern.search(line)] if m]
        if values:
            found.append({"MetricName": definition["Name"], "Value": float(values[-1])})
    return found
