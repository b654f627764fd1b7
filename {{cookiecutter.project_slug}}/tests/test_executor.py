"""The local executor on small hand-written definitions: jobs are short Python commands."""

import io
import json
import os
import signal
import sys
import tarfile
import textwrap

import pytest

from {{ cookiecutter.package_name }}.pipeline.executor import (
    ExecutionError,
    Executor,
    FailStepError,
    RunFolder,
    objects,
)
from {{ cookiecutter.package_name }}.pipeline.expressions import Execution, parameter_values

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example:1.0"
BUCKET = "s3://bucket/use-case"
PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
PARAMETERS = [
    {"Name": "InputDataUri", "Type": "String", "DefaultValue": f"{BUCKET}/input/"},
    {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
    {"Name": "Approval", "Type": "String", "DefaultValue": "PendingManualApproval"},
]
# A processing job: sums the numbers of its input files and writes {"total": <sum>}.
SUM = textwrap.dedent(
    """
    import json, pathlib, sys
    source, target = map(pathlib.Path, sys.argv[1:3])
    total = sum(float(p.read_text()) for p in source.rglob("*.txt"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.json").write_text(json.dumps({"metrics": {"total": total}}))
    print("summed", total)
    """
)
# A training job: reads its hyperparameters and channel, writes a model, prints a metric.
TRAIN = textwrap.dedent(
    """
    import json, os, pathlib
    root = pathlib.Path(os.environ["OPT_ML_DIR"])
    hyperparameters = json.loads((root / "input/config/hyperparameters.json").read_text())
    rows = (root / "input/data/train/part.txt").read_text()
    (root / "model/model.txt").write_text(hyperparameters["depth"] + ":" + rows)
    print("validation:score=0.75")
    """
)


def output_uri(step: str, output: str) -> dict:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def processing(name: str, code: str, inputs: list, outputs: list, arguments=()) -> dict:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}
            },
            "AppSpecification": {
                "ImageUri": IMAGE,
                "ContainerEntrypoint": ["python3", "-c", code],
                "ContainerArguments": list(arguments),
            },
            "ProcessingInputs": [
                {
                    "InputName": n,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": path,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
                for n, uri, path in inputs
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": n,
                        "S3Output": {"S3Uri": uri, "LocalPath": path, "S3UploadMode": "EndOfJob"},
                    }
                    for n, uri, path in outputs
                ]
            },
            "Environment": {"PYTHONPATH": "/opt/ml/processing/code"},
        },
    }


def run_uri(*parts: str) -> dict:
    return {
        "Std:Join": {
            "On": "/",
            "Values": [BUCKET, {"Get": "Execution.PipelineExecutionId"}, *parts],
        }
    }


def report_value(path="metrics.total") -> dict:
    return {
        "Std:JsonGet": {"PropertyFile": {"Get": "Steps.Sum.PropertyFiles.Report"}, "Path": path}
    }


def definition() -> dict:
    """Sum -> Train -> Gate (total >= Threshold) -> Register, else Failed."""
    summing = processing(
        "Sum",
        SUM,
        inputs=[("input", {"Get": "Parameters.InputDataUri"}, "/opt/ml/processing/input")],
        outputs=[("report", run_uri("sum", "report"), "/opt/ml/processing/report")],
        arguments=["/opt/ml/processing/input", "/opt/ml/processing/report"],
    )
    summing["PropertyFiles"] = [
        {"PropertyFileName": "Report", "OutputName": "report", "FilePath": "report.json"}
    ]
    train = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "-c", TRAIN],
                "MetricDefinitions": [
                    {"Name": "validation:score", "Regex": r"validation:score=([0-9.]+)"}
                ],
            },
            "HyperParameters": {"depth": "3"},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": {"Get": "Parameters.InputDataUri"},
                        }
                    },
                    "InputMode": "File",
                }
            ],
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "OutputDataConfig": {"S3OutputPath": run_uri("train"), "CompressionType": "GZIP"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
        "DependsOn": ["Sum"],
    }
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "group",
            "ModelApprovalStatus": {"Get": "Parameters.Approval"},
            "CustomerMetadataProperties": {"execution": {"Get": "Execution.PipelineExecutionArn"}},
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "S3Uri": {
                            "Std:Join": {
                                "On": "/",
                                "Values": [output_uri("Sum", "report"), "report.json"],
                            }
                        }
                    }
                }
            },
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": IMAGE,
                        "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
                    }
                ]
            },
        },
    }
    failed = {
        "Name": "Failed",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": " ",
                    "Values": [
                        "total",
                        report_value(),
                        "is below",
                        {"Get": "Parameters.Threshold"},
                    ],
                }
            }
        },
    }
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": report_value(),
                    "RightValue": {"Get": "Parameters.Threshold"},
                }
            ],
            "IfSteps": [register],
            "ElseSteps": [failed],
        },
    }
    return {"Version": "2020-12-01", "Parameters": PARAMETERS, "Steps": [summing, train, gate]}


def interpreter_of(image: str) -> str:
    if image != IMAGE:
        raise LookupError(f"image {image} has no local environment")
    return sys.executable


# Every test runs its jobs both ways: each a new process, and forked warm by a starter.
@pytest.fixture(params=["cold", "warm"])
def execute(tmp_path, request):
    """Run a definition in a fresh run folder with input files 1.5 and 2; return the records."""
    return executor_for(tmp_path / "run", preload=["json"] if request.param == "warm" else [])


def executor_for(root, preload):
    folder = RunFolder(root)
    input_dir = folder.s3(f"{BUCKET}/input/", "test")
    input_dir.mkdir(parents=True)
    (input_dir / "part.txt").write_text("1.5")
    (input_dir / "more" / "part.txt").parent.mkdir()
    (input_dir / "more" / "part.txt").write_text("2")
    registered = []

    def run(document: dict, log=lambda line: None, **given: str):
        execution = Execution(
            parameters=parameter_values(document["Parameters"], given),
            variables={
                "PipelineExecutionId": "run1",
                "PipelineExecutionArn": f"{PIPELINE_ARN}/execution/run1",
                "PipelineName": "p",
            },
        )

        def register(step: str, request: dict) -> dict:
            registered.append(request)
            return {"ModelPackageArn": "arn:local/group/1"}

        executor = Executor(
            document, folder, execution, interpreter_of, register, preload=preload, log=log
        )
        return executor.run()

    run.folder, run.registered = folder, registered
    return run


def test_a_passing_gate_registers_what_the_real_request_carries(execute):
    records = execute(definition())
    statuses = {record["StepName"]: record["StepStatus"] for record in records.values()}
    assert statuses == {
        "Sum": "Succeeded",
        "Train": "Succeeded",
        "Gate": "Succeeded",
        "Register": "Succeeded",
        "Failed": "NotExecuted",
    }
    [request] = execute.registered
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert request["CustomerMetadataProperties"]["execution"].endswith("/execution/run1")
    report_uri = request["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert report_uri == f"{BUCKET}/run1/sum/report/report.json"
    assert json.loads(execute.folder.s3(report_uri, "test").read_text()) == {
        "metrics": {"total": 3.5}
    }
    model_uri = request["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert model_uri == f"{BUCKET}/run1/train/pipelines-run1-Train/output/model.tar.gz"
    with tarfile.open(execute.folder.s3(model_uri, "test")) as archive:
        assert archive.getnames() == ["model.txt"]
        assert archive.extractfile("model.txt").read() == b"3:1.5"
    train = records["Train"]["Properties"]
    assert train["FinalMetricDataList"] == [{"MetricName": "validation:score", "Value": 0.75}]
    execution = json.loads((execute.folder.root / "execution.json").read_text())
    assert execution["PipelineExecutionStatus"] == "Succeeded"


@pytest.mark.parametrize(
    ("key", "value", "refused"),
    [
        ("comparison", "auc (95%)", r"value 'auc \(95%\)'"),
        ("comparison", "x" * 257, "value 'xxx"),
        ("a, b", "fine", "key 'a, b'"),
    ],
)
def test_metadata_sagemaker_refuses_fails_the_register_step(execute, key, value, refused):
    document = definition()
    [register] = document["Steps"][2]["Arguments"]["IfSteps"]
    register["Arguments"]["CustomerMetadataProperties"][key] = value
    with pytest.raises(ExecutionError, match=rf"^step Register: metadata {refused}.*SageMaker"):
        execute(document)
    assert not execute.registered


def test_the_training_job_gets_its_config_files_as_sagemaker_writes_them(execute):
    execute(definition())
    config = execute.folder.job("Train") / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == {"depth": "3"}
    assert set(json.loads((config / "inputdataconfig.json").read_text())) == {"train"}
    assert json.loads((config / "resourceconfig.json").read_text())["hosts"] == ["algo-1"]
    assert "summed 3.5" in (execute.folder.root / "jobs" / "Sum.log").read_text()


# A job of several hosts: each sums its own shard and writes what its resource config says.
SHARE = textwrap.dedent(
    """
    import json, os, pathlib, sys
    root = pathlib.Path(os.environ["OPT_ML_DIR"])
    config = json.loads((root / "config/resourceconfig.json").read_text())
    source, target = map(pathlib.Path, sys.argv[1:3])
    total = sum(float(p.read_text()) for p in source.rglob("*.txt"))
    target.mkdir(parents=True, exist_ok=True)
    name = config["current_host"] + ".json" if "--own-names" in sys.argv else "report.json"
    (target / name).write_text(json.dumps({**config, "total": total}))
    print("threads", os.environ.get("ML_THREADS"))
    """
)


def sharded(step: dict, count: int) -> dict:
    """The step on `count` instances, its first input ShardedByS3Key."""
    arguments = step["Arguments"]
    arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = count
    arguments["ProcessingInputs"][0]["S3Input"]["S3DataDistributionType"] = "ShardedByS3Key"
    return step


def test_a_job_of_several_instances_runs_a_process_per_host_on_its_shard(execute, monkeypatch):
    monkeypatch.delenv("ML_THREADS", raising=False)
    document = definition()
    summing = sharded(document["Steps"][0], 3)
    summing["Arguments"]["AppSpecification"]["ContainerEntrypoint"][2] = SHARE
    summing["Arguments"]["AppSpecification"]["ContainerArguments"].append("--own-names")
    document["Steps"][1:] = []
    lines = []
    execute(document, log=lines.append)
    written = execute.folder.s3(f"{BUCKET}/run1/sum/report/", "test")
    reports = {path.name: json.loads(path.read_text()) for path in written.iterdir()}
    hosts = ["algo-1", "algo-2", "algo-3"]
    assert sorted(reports) == [f"{host}.json" for host in hosts]
    # The keys in order, dealt in turn: more/part.txt (2), part.txt (1.5), and none left.
    assert [reports[f"{host}.json"]["total"] for host in hosts] == [2.0, 1.5, 0]
    assert all(reports[f"{host}.json"]["hosts"] == hosts for host in hosts)
    assert all(reports[f"{host}.json"]["current_host"] == host for host in hosts)
    assert (execute.folder.job("Sum", "algo-2").with_suffix(".log")).is_file()
    share = max(1, len(os.sched_getaffinity(0)) // 3)
    assert f"Sum host algo-3 | threads {share}" in lines


def test_hosts_writing_the_same_output_file_stop_the_run(execute):
    document = definition()
    summing = sharded(document["Steps"][0], 2)
    summing["Arguments"]["AppSpecification"]["ContainerEntrypoint"][2] = SHARE
    with pytest.raises(ExecutionError, match=r"hosts algo-1 and algo-2 both wrote report\.json"):
        execute(document)


def test_a_host_that_fails_stops_the_others(execute):
    document = definition()
    code = "import json, os, pathlib, sys, time\n" + (
        "config = json.loads((pathlib.Path(os.environ['OPT_ML_DIR']) / "
        "'config/resourceconfig.json').read_text())\n"
        "sys.exit('algo-2 refuses') if config['current_host'] == 'algo-2' else time.sleep(600)"
    )
    summing = sharded(document["Steps"][0], 2)
    summing["Arguments"]["AppSpecification"]["ContainerEntrypoint"][2] = code
    with pytest.raises(ExecutionError) as error:
        execute(document)
    assert str(error.value) == (
        "step Sum: host algo-2: the job exited with status 1: algo-2 refuses"
    )


@pytest.mark.parametrize("all_hosts_write", [False, True])
def test_a_training_job_of_several_hosts_keeps_the_first_host_s_model(execute, all_hosts_write):
    document = definition()
    train = document["Steps"][1]["Arguments"]
    train["ResourceConfig"]["InstanceCount"] = 2
    train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = (
        "ShardedByS3Key"
    )
    train["AlgorithmSpecification"]["ContainerEntrypoint"][2] = textwrap.dedent(
        f"""
        import json, os, pathlib
        root = pathlib.Path(os.environ["OPT_ML_DIR"])
        config = json.loads((root / "input/config/resourceconfig.json").read_text())
        channel = root / "input/data/train"
        shard = sorted(str(p.relative_to(channel)) for p in channel.rglob("*.txt"))
        # Where the first host's tracker listens: a KeyError unless the executor says.
        tracker = os.environ["DMLC_TRACKER_URI"], os.environ["DMLC_TRACKER_PORT"]
        if {all_hosts_write} or config["current_host"] == config["hosts"][0]:
            (root / "model/model.txt").write_text(config["current_host"] + ":" + ",".join(shard))
        print("validation:score=0.5")
        """
    )
    if all_hosts_write:
        with pytest.raises(ExecutionError, match="host algo-2 wrote to /opt/ml/model"):
            execute(document)
        return
    records = execute(document)
    model_uri = records["Train"]["Properties"]["ModelArtifacts"]["S3ModelArtifacts"]
    with tarfile.open(execute.folder.s3(model_uri, "test")) as archive:
        assert archive.extractfile("model.txt").read() == b"algo-1:more/part.txt"


# A script-mode trainer, as a code archive holds it: its score grows with depth; depth 9 fails.
TRAINER = textwrap.dedent(
    """
    import argparse, os, pathlib, sys
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int)
    parser.add_argument("--rate", type=float)
    args = parser.parse_args()
    if args.depth == 9:
        sys.exit("depth 9 refused")
    shard = sorted(pathlib.Path(os.environ["SM_CHANNEL_TRAIN"]).rglob("*.txt"))
    model = pathlib.Path(os.environ["SM_MODEL_DIR"]) / "model.txt"
    model.write_text(f"{args.depth}:{len(shard)}")
    print(f"validation:score={args.depth / 10 + args.rate / 1000}")
    """
)


def tuning(trials: int = 4, depths=("1", "9")) -> dict:
    """Sum, then Tune: `trials` trials of TRAINER, the best one's model registered."""
    document = definition()
    summing, train, gate = document["Steps"]
    static = {
        "sagemaker_program": "trainer",
        "sagemaker_submit_directory": f"{BUCKET}/code/sourcedir.tar.gz",
        "rate": "1",
    }
    train_arguments = train["Arguments"]
    tune = {
        "Name": "Tune",
        "Type": "Tuning",
        "DependsOn": ["Sum"],
        "Arguments": {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian",
                "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 2},
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "score"},
                "ParameterRanges": {
                    "IntegerParameterRanges": [
                        {"Name": "depth", "MinValue": depths[0], "MaxValue": depths[1]}
                    ]
                },
            },
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "TrainingImage": IMAGE,
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [
                        {"Name": "score", "Regex": r"validation:score=([0-9.]+)"}
                    ],
                },
                "StaticHyperParameters": static,
                "InputDataConfig": train_arguments["InputDataConfig"],
                "ResourceConfig": train_arguments["ResourceConfig"],
                "OutputDataConfig": train_arguments["OutputDataConfig"],
                "StoppingCondition": train_arguments["StoppingCondition"],
                "RoleArn": "arn:aws:iam::123456789012:role/r",
            },
        },
    }
    [register] = gate["Arguments"]["IfSteps"]
    register["Arguments"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] = {
        "Std:Join": {
            "On": "/",
            "Values": [
                run_uri("train"),
                {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"},
                "output/model.tar.gz",
            ],
        }
    }
    document["Steps"] = [summing, tune, gate]
    return document


def with_trainer_archive(execute) -> None:
    archive = execute.folder.s3(f"{BUCKET}/code/sourcedir.tar.gz", "test")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("trainer.py")
        info.size = len(TRAINER.encode())
        tar.addfile(info, io.BytesIO(TRAINER.encode()))


def test_a_tuning_step_runs_its_trials_and_lists_the_best_first(execute):
    with_trainer_archive(execute)
    lines = []
    records = execute(tuning(trials=5), log=lines.append)
    tune = records["Tune"]["Properties"]
    summaries = tune["TrainingJobSummaries"]
    assert len(summaries) == 5 and tune["TrainingJobStatusCounters"]["Completed"] >= 1
    completed = [s for s in summaries if s["TrainingJobStatus"] == "Completed"]
    scores = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in completed]
    assert scores == sorted(scores, reverse=True) and tune["BestTrainingJob"] == completed[0]
    for summary in summaries:  # depth 9 fails its trial, not the step
        failed = summary["TunedHyperParameters"]["depth"] == "9"
        assert (summary["TrainingJobStatus"] == "Failed") == failed
    [request] = execute.registered
    model_uri = request["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert completed[0]["TrainingJobName"] in model_uri
    with tarfile.open(execute.folder.s3(model_uri, "test")) as archive:
        depth = completed[0]["TunedHyperParameters"]["depth"]
        assert archive.extractfile("model.txt").read() == f"{depth}:2".encode()
    assert any(line.startswith("Tune trial 001 | ") for line in lines)
    assert len(list(execute.folder.job("Tune").iterdir())) == 5 * 2  # a folder and a log each


def test_tuning_draws_the_same_trials_for_the_same_seed(execute, tmp_path):
    with_trainer_archive(execute)
    records = execute(tuning(trials=3, depths=("1", "8")))
    summaries = records["Tune"]["Properties"]["TrainingJobSummaries"]
    drawn = [summary["TunedHyperParameters"] for summary in summaries]
    assert all(1 <= int(values["depth"]) <= 8 for values in drawn)
    again = executor_for(tmp_path / "again", preload=[])
    with_trainer_archive(again)
    redrawn = again(tuning(trials=3, depths=("1", "8")))["Tune"]["Properties"]
    values = [s["TunedHyperParameters"] for s in redrawn["TrainingJobSummaries"]]
    assert sorted(map(str, drawn)) == sorted(map(str, values))


def test_a_tuning_step_whose_every_trial_fails_stops_the_run(execute):
    with_trainer_archive(execute)
    with pytest.raises(
        ExecutionError, match=r"^step Tune: every trial failed; the first: .*depth 9"
    ):
        execute(tuning(trials=2, depths=("9", "9")))


def test_a_failing_gate_stops_at_the_fail_step_with_its_message(execute):
    with pytest.raises(FailStepError) as failed:
        execute(definition(), Threshold="4")
    assert failed.value.step == "Failed"
    assert failed.value.message == "total 3.5 is below 4.0"
    assert execute.registered == []
    execution = json.loads((execute.folder.root / "execution.json").read_text())
    assert execution["PipelineExecutionStatus"] == "Failed"


def test_a_nan_metric_fails_the_gate(execute, tmp_path):
    document = definition()
    document["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"][2] = SUM.replace(
        "total = sum(", "total = float('nan') + sum("
    )
    with pytest.raises(FailStepError):
        execute(document)


def test_a_wrong_json_get_path_names_the_gate(execute):
    document = definition()
    document["Steps"][2]["Arguments"]["Conditions"][0]["LeftValue"] = report_value("metrics.totl")
    with pytest.raises(ExecutionError, match=r"^step Gate: .*nothing at 'totl'"):
        execute(document)


def test_a_wrong_output_name_names_the_step_that_reads_it(execute):
    document = definition()
    statistics = document["Steps"][2]["Arguments"]["IfSteps"][0]["Arguments"]["ModelMetrics"][
        "ModelQuality"
    ]["Statistics"]
    statistics["S3Uri"]["Std:Join"]["Values"][0] = output_uri("Sum", "evaluation")
    with pytest.raises(ExecutionError, match=r"^step Register: .*nothing at .*'evaluation'"):
        execute(document)


def test_an_input_with_nothing_under_it_fails_the_job_that_reads_it(execute):
    document = definition()
    channel = document["Steps"][1]["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    channel["S3Uri"] = run_uri("sum", "nothing")
    with pytest.raises(
        ExecutionError,
        match=r"^step Train: input train: no object under s3://bucket/use-case/run1/sum/nothing",
    ):
        execute(document)


def test_a_property_file_of_an_output_the_step_lacks_is_refused(execute):
    document = definition()
    document["Steps"][0]["PropertyFiles"][0]["OutputName"] = "evaluation"
    with pytest.raises(
        ExecutionError, match=r"^step Sum: property file Report reads output evaluation"
    ):
        execute(document)


def test_a_failing_job_names_its_step_and_last_line(execute):
    document = definition()
    document["Steps"][1]["Arguments"]["AlgorithmSpecification"]["ContainerEntrypoint"][2] = (
        "raise SystemExit('no rows')"
    )
    with pytest.raises(
        ExecutionError, match=r"^step Train: the job exited with status 1: no rows$"
    ):
        execute(document)
    assert not (execute.folder.root / "jobs" / "Gate").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda steps: steps[1].update(Type="EMR"),
            "step Train: type EMR is not one the executor runs",
        ),
        (
            lambda steps: steps[1].update(DependsOn=["Preprocess"]),
            "step Train: refers to Preprocess, which is no step here",
        ),
        (
            lambda steps: steps[0].update(DependsOn=["Train"]),
            "waits for itself through other steps",
        ),
        (
            lambda steps: steps[0]["Arguments"]["AppSpecification"].update(ImageUri="other:1"),
            "image other:1 has no local environment",
        ),
        (
            lambda steps: steps[1]["Arguments"]["ResourceConfig"].update(InstanceCount=0),
            "step Train: InstanceCount 0 is not a whole number above 0",
        ),
        (
            lambda steps: steps[0]["Arguments"]["ProcessingInputs"][0]["S3Input"].update(
                S3DataDistributionType="ByRegion"
            ),
            "step Sum: input input: ByRegion is not run",
        ),
        (
            lambda steps: steps[2]["Arguments"]["Conditions"][0].update(Type="Matches"),
            "step Gate: condition Matches is not one the executor knows",
        ),
    ],
)
def test_what_the_executor_does_not_run_stops_the_run_naming_the_step(execute, change, message):
    document = definition()
    change(document["Steps"])
    with pytest.raises(ExecutionError) as error:
        execute(document)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_independent_steps_run_at_once(execute):
    # Each job waits (up to a minute) for the other's file: this ends only if both run together.
    wait_for = textwrap.dedent(
        """
        import pathlib, sys, time
        mine, theirs = map(pathlib.Path, sys.argv[1:3])
        mine.write_text("here")
        deadline = time.monotonic() + 60
        while not theirs.exists():
            if time.monotonic() > deadline:
                raise SystemExit("ran alone")
            time.sleep(0.01)
        """
    )
    meeting = execute.folder.root / "meeting"
    meeting.mkdir(parents=True)
    steps = [
        processing(
            name,
            wait_for,
            inputs=[],
            outputs=[],
            arguments=[str(meeting / name), str(meeting / other)],
        )
        for name, other in (("Left", "Right"), ("Right", "Left"))
    ]
    records = execute({"Parameters": [], "Steps": steps})
    assert {record["StepStatus"] for record in records.values()} == {"Succeeded"}


def test_s3_prefixes_match_keys_as_s3_does(tmp_path):
    folder = RunFolder(tmp_path)
    for key in ("run/train/a.csv", "run/train/b/c.csv", "run/trainer/x.csv", "run/test/t.csv"):
        path = folder.s3(f"s3://bucket/{key}", "test")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
    keys = [key for key, _ in objects(folder, "s3://bucket/run/train/", "test")]
    assert keys == ["a.csv", "b/c.csv"]
    keys = [key for key, _ in objects(folder, "s3://bucket/run/train", "test")]
    assert keys == ["a.csv", "b/c.csv", "er/x.csv"]  # a prefix, not a folder
    assert [key for key, _ in objects(folder, "s3://bucket/run/test/t.csv", "test")] == ["t.csv"]
    with pytest.raises(ExecutionError, match="names no bucket and key"):
        folder.s3("s3://bucket/run/../../etc", "Step")


def test_ctrl_c_stops_the_running_jobs_and_records_the_execution_as_stopped(
    execute, ctrl_c_interrupts
):
    document = definition()
    code = "import time; print('started', flush=True); time.sleep(60)"
    document["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"][2] = code

    def interrupt_once_started(line: str) -> None:
        if "started" in line:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C reaches this process

    with pytest.raises(KeyboardInterrupt):
        execute(document, log=interrupt_once_started)
    execution = json.loads((execute.folder.root / "execution.json").read_text())
    assert execution["PipelineExecutionStatus"] == "Stopped"
    assert [step["StepName"] for step in execution["Steps"]] == ["Sum"]


# What a job sees of its own start: it must be the same, forked warm or started anew.
VIEWER = textwrap.dedent(
    """
    import json, os, sys
    import viewed
    print(json.dumps({
        "argv": sys.argv, "path": sys.path[:3], "cwd": os.getcwd(), "name": __name__,
        "environment": {k: v for k, v in os.environ.items() if k != "LC_CTYPE"},
        "module": viewed.__file__, "stdin": sys.stdin.read(),
        "main": sys.modules["__main__"].__dict__ is globals(),
    }))
    """
)


@pytest.mark.parametrize("entrypoint", [["python3", "-m", "viewer"], ["python3", "-c", VIEWER]])
def test_a_warm_job_sees_what_a_new_process_would(tmp_path, entrypoint):
    views = []
    for preload in ([], ["json"]):
        folder = RunFolder(tmp_path / ("warm" if preload else "cold"))
        code_dir = folder.s3(f"{BUCKET}/code/", "test")
        code_dir.mkdir(parents=True)
        (code_dir / "viewer.py").write_text(VIEWER)
        (code_dir / "viewed.py").write_text("")
        step = processing(
            "View",
            "",
            inputs=[("code", f"{BUCKET}/code/", "/opt/ml/processing/code")],
            outputs=[],
            arguments=["--flag", "/opt/ml/processing/code"],
        )
        step["Arguments"]["AppSpecification"]["ContainerEntrypoint"] = entrypoint
        step["Arguments"]["Environment"] = {"PYTHONPATH": "/opt/ml/processing/code"}
        document = {"Version": "2020-12-01", "Parameters": PARAMETERS, "Steps": [step]}
        lines = []
        execution = Execution(parameter_values(PARAMETERS, {}), {"PipelineExecutionId": "run1"})
        Executor(
            document, folder, execution, interpreter_of, None, preload=preload, log=lines.append
        ).run()
        [line] = lines
        views.append(line.removeprefix("View | ").replace(str(folder.root), "<run>"))
    cold, warm = map(json.loads, views)
    assert cold["argv"][1:] == ["--flag", "<run>/jobs/View/processing/code"]
    assert cold["module"] == "<run>/jobs/View/processing/code/viewed.py" and cold["main"]
    assert warm == cold


def test_a_job_past_its_max_runtime_is_stopped(execute):
    document = definition()
    arguments = document["Steps"][1]["Arguments"]
    arguments["AlgorithmSpecification"]["ContainerEntrypoint"][2] = "import time; time.sleep(60)"
    arguments["StoppingCondition"]["MaxRuntimeInSeconds"] = 1
    with pytest.raises(
        ExecutionError, match=r"^step Train: the job ran past MaxRuntimeInSeconds 1$"
    ):
        execute(document)
