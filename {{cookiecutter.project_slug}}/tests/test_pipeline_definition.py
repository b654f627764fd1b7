"""The SageMaker Pipeline definition, built offline: steps, parameters, gate, code, names."""

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from conftest import TEST_ENVIRONMENT

from {{ cookiecutter.package_name }} import naming, settings
from {{ cookiecutter.package_name }}.evaluate.core import metric_from_report
from {{ cookiecutter.package_name }}.evaluate.documents import evaluation
from {{ cookiecutter.package_name }}.infer.handler import model_fn
from {{ cookiecutter.package_name }}.monitor.baseline import BASELINE_FILE
from {{ cookiecutter.package_name }}.pipeline import code, diagram
from {{ cookiecutter.package_name }}.pipeline.parameters import pipeline_parameters
from {{ cookiecutter.package_name }}.train.hyperparameters import SEARCH_SPACE

pytestmark = pytest.mark.usefixtures("no_sdk_telemetry")

PACKAGE = "{{ cookiecutter.package_name }}"
ROLE_ARN = f"arn:aws:iam::{settings.DEV_ACCOUNT_ID}:role/pipeline-tests"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
README = PROJECT_ROOT / "README.md"


@contextlib.contextmanager
def network_refused():
    """Refuse and record every AWS request and every connection while building.

    Recorded as well as refused, because the SDK swallows some exceptions. (Its usage
    telemetry, a background request the SDK owns, is off in all tests: see conftest.py.)
    """
    attempts = []

    def refuse(target, *_, **__):
        attempts.append(str(getattr(target, "url", target)))
        raise OSError("the network is refused in this test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield attempts, refuse


@pytest.fixture(scope="module")
def definition():
    """The definition module, imported by the first test that needs it: the SDK takes seconds
    to import, which every test process would pay at collection otherwise."""
    return pytest.importorskip(
        f"{PACKAGE}.pipeline.definition",
        reason="the pipeline extra is not installed: make setup EXTRAS=dev,pipeline",
    )


def build(definition, branch: str = "main", environ: dict | None = None) -> dict:
    """The definition JSON, built with the network refused; fails on any attempt to use it."""
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": branch, **(environ or {})})
    with network_refused() as (attempts, refuse):
        boto_session = boto3.Session(region_name=config.region)
        boto_session.events.register("before-send", lambda request, **_: refuse(request))
        pipeline = definition.build(
            config, ROLE_ARN, code.collect(), definition.session(config, boto_session)
        )
        built = json.loads(pipeline.definition())
    assert attempts == [], f"building the definition reached for the network: {attempts}"
    return built


@pytest.fixture(scope="module")
def built(definition) -> dict:
    return build(definition)


def steps_by_name(built: dict) -> dict[str, dict]:
    steps = {}
    for step in built["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            steps.update({inner["Name"]: inner for inner in step["Arguments"].get(branch, [])})
    return steps


def test_steps_their_types_and_order(built):
    steps = steps_by_name(built)
    assert {name: step["Type"] for name, step in steps.items()} == {
        "Preprocess": "Processing",
        "Train": "Training",
        "Evaluate": "Processing",
        "Baseline": "Processing",
        "QualityGate": "Condition",
        "Register": "RegisterModel",
        "Track": "Processing",
        "TrackUnregistered": "Processing",
        "QualityGateFailed": "Fail",
    }
    gate = steps["QualityGate"]["Arguments"]
    # Each execution is tracked, whether the gate registers its model or not.
    assert [step["Name"] for step in gate["IfSteps"]] == ["Register", "Track"]
    unregistered = ["TrackUnregistered", "QualityGateFailed"]
    assert [step["Name"] for step in gate["ElseSteps"]] == unregistered
    assert steps["QualityGateFailed"]["DependsOn"] == ["TrackUnregistered"]
    train_inputs = json.dumps(steps["Train"]["Arguments"]["InputDataConfig"])
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['train']" in train_inputs
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['validation']" in train_inputs
    evaluate_inputs = json.dumps(steps["Evaluate"]["Arguments"]["ProcessingInputs"])
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in evaluate_inputs
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['test']" in evaluate_inputs
    assert "Steps.Evaluate.PropertyFiles.EvaluationReport" in json.dumps(gate["Conditions"])
    baseline_inputs = json.dumps(steps["Baseline"]["Arguments"]["ProcessingInputs"])
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in baseline_inputs
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['train']" in baseline_inputs
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['test']" in baseline_inputs


def test_parameters_and_their_defaults(built):
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in built["Parameters"]}
    assert parameters == {
        "InputDataUri": ("String", config.input_data_uri),
        "ProcessingInstanceType": ("String", settings.PROCESSING_INSTANCE_TYPE),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", settings.TRAINING_INSTANCE_TYPE),
        "TrainingInstanceCount": ("Integer", 1),
        "ModelApprovalStatus": ("String", settings.PENDING_APPROVAL),
        "QualityThreshold": ("Float", settings.QUALITY_THRESHOLD),
        "GitCommit": ("String", "local"),
        "CodeBuildId": ("String", "local"),
        "MlflowTrackingUri": ("String", ""),  # TEST_ENVIRONMENT names no MLflow App
    }


def value_at(report: dict, path: str):
    for key in path.split("."):
        report = report[key]
    return report


def test_gate_reads_the_metric_the_champion_comparison_and_the_bias_evaluate_writes(
    built, model_dir, splits
):
    steps = steps_by_name(built)
    threshold, champion, bias = steps["QualityGate"]["Arguments"]["Conditions"]
    assert threshold["Type"] == "GreaterThanOrEqualTo"
    assert threshold["RightValue"] == {"Get": "Parameters.QualityThreshold"}
    metric_path = threshold["LeftValue"]["Std:JsonGet"]["Path"]
    assert metric_path == f"{settings.REPORT_KEY}.{settings.PRIMARY_METRIC}.value"
    # The conditions all hold for a model to be registered: the champion's is a second one.
    assert champion["Type"] == "Equals" and champion["RightValue"] is True
    comparison_path = champion["LeftValue"]["Std:JsonGet"]["Path"]
    assert comparison_path == f"{settings.COMPARISON_KEY}.not_worse"
    assert bias["Type"] == "Equals" and bias["RightValue"] is True
    bias_path = bias["LeftValue"]["Std:JsonGet"]["Path"]
    assert bias_path == "gate.passes"
    report_file, bias_file, card_file = steps["Evaluate"]["PropertyFiles"]
    assert card_file["FilePath"] == "model_card.json"
    assert report_file == {
        "PropertyFileName": "EvaluationReport",
        "OutputName": "evaluation",
        "FilePath": settings.REPORT_FILE,
    }
    assert bias_file == {
        "PropertyFileName": "BiasReport",
        "OutputName": "evaluation",
        "FilePath": settings.BIAS_FILE,
    }
    assert bias["LeftValue"]["Std:JsonGet"]["PropertyFile"] == {
        "Get": "Steps.Evaluate.PropertyFiles.BiasReport"
    }
    # The paths really lead to the values in the reports the evaluate step writes.
    found = evaluation(model_fn(str(model_dir)), splits["test"], None)
    report = json.loads(found.files()[settings.REPORT_FILE])
    assert value_at(report, metric_path) == metric_from_report(report)
    assert value_at(report, comparison_path) is True  # no champion: the threshold decides
    assert value_at(json.loads(found.files()[settings.BIAS_FILE]), bias_path) is True


def test_evaluate_looks_up_mains_champion_in_the_pipelines_region(definition):
    main = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    for branch in ("main", "feature/better-model"):
        evaluate_step = steps_by_name(build(definition, branch))["Evaluate"]["Arguments"]
        arguments = evaluate_step["AppSpecification"]["ContainerArguments"]
        assert arguments[:2] == ["--champion-group", main.names["model_package_group"]]
        assert evaluate_step["Environment"]["AWS_DEFAULT_REGION"] == main.region


def test_failed_gate_names_both_values_the_threshold_the_comparison_and_the_bias(built):
    steps = steps_by_name(built)
    message = steps["QualityGateFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]
    threshold, champion, bias = steps["QualityGate"]["Arguments"]["Conditions"]
    parts = message["Values"]
    first, value, middle, threshold_value, joint, summary, bias_joint, bias_summary, last = parts
    assert message["On"] == ""
    assert first == f"Quality gate failed: {settings.PRIMARY_METRIC} "
    assert value == threshold["LeftValue"]  # the very number the gate compared
    assert middle == " against the threshold "
    assert threshold_value == {"Get": "Parameters.QualityThreshold"}
    assert joint == "; "
    summary_path = summary["Std:JsonGet"]["Path"]
    assert summary_path == f"{settings.COMPARISON_KEY}.summary"
    assert (
        summary["Std:JsonGet"]["PropertyFile"]
        == champion["LeftValue"]["Std:JsonGet"]["PropertyFile"]
    )
    assert bias_joint == "; bias: "
    assert bias_summary["Std:JsonGet"]["Path"] == "gate.summary"
    assert (
        bias_summary["Std:JsonGet"]["PropertyFile"]
        == bias["LeftValue"]["Std:JsonGet"]["PropertyFile"]
    )
    assert "not registered" in last


def test_register_step_records_metrics_approval_and_serving_code(built, definition):
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    arguments = steps_by_name(built)["Register"]["Arguments"]
    assert arguments["ModelPackageGroupName"] == config.names["model_package_group"]
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    statistics = arguments["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"][-1] == settings.REPORT_FILE
    # Every model version records the drift baseline its endpoint's traffic is checked against.
    drift_baseline = arguments["ModelMetrics"]["ModelDataQuality"]["Statistics"]
    assert drift_baseline["ContentType"] == "application/json"
    assert drift_baseline["S3Uri"]["Std:Join"]["Values"] == [
        {"Get": "Steps.Baseline.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"},
        BASELINE_FILE,
    ]
    # And its bias assessment and explanations, as Studio shows a Clarify check's.
    evaluation_dir = {
        "Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
    }
    for kind, name in (
        ("Bias", settings.BIAS_FILE),
        ("Explainability", settings.EXPLAINABILITY_FILE),
    ):
        report = arguments["ModelMetrics"][kind]["Report"]
        assert report["ContentType"] == "application/json"
        assert report["S3Uri"]["Std:Join"]["Values"] == [evaluation_dir, name]
    (container,) = arguments["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == f"{PACKAGE}.infer.handler"
    archive = code.collect().archive_uri(config.branch_root)
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == archive
    assert container["Image"] == definition.image(
        settings.FRAMEWORK_IMAGE, config.region, "inference"
    )


def test_registered_model_traces_back_to_its_commit_build_and_execution(built):
    metadata = steps_by_name(built)["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert metadata["branch"] == "main"
    assert metadata["code-digest"] == code.collect().digest
    assert metadata["git-commit"] == {"Get": "Parameters.GitCommit"}
    assert metadata["codebuild-build-id"] == {"Get": "Parameters.CodeBuildId"}
    assert metadata["pipeline-execution"] == {"Get": "Execution.PipelineExecutionArn"}
    # The person approving sees what the model was compared with, and how it fared, in the
    # spelling metadata values allow, and where its page is.
    for key, field in (
        ("champion-package", "champion_package"),
        ("champion-comparison", "registry_summary"),
    ):
        assert metadata[key]["Std:JsonGet"]["Path"] == f"{settings.COMPARISON_KEY}.{field}"
    assert metadata["bias-assessment"]["Std:JsonGet"]["Path"] == "gate.registry_summary"
    assert metadata[settings.EVALUATION_PAGE_METADATA]["Std:Join"]["Values"] == [
        {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        settings.EVALUATION_PAGE,
    ]


def test_jobs_run_the_package_entry_points_in_the_settings_image(built, definition):
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    files = code.collect().files_uri(config.branch_root)
    steps = steps_by_name(built)
    framework_image = definition.image(settings.FRAMEWORK_IMAGE, config.region)
    assert framework_image.rpartition(":")[2].startswith(settings.FRAMEWORK_IMAGE[1])
    for name, module, image in (
        ("Preprocess", "data", framework_image),
        ("Evaluate", "evaluate", framework_image),
        ("Baseline", "monitor", framework_image),
    ):
        arguments = steps[name]["Arguments"]
        app = dict(arguments["AppSpecification"])
        given = app.pop("ContainerArguments", [])
        assert app == {
            "ImageUri": image,
            "ContainerEntrypoint": ["python3", "-m", f"{PACKAGE}.{module}"],
        }
        expected = {
            "monitor": ["baseline"],
            "evaluate": ["--champion-group", config.champion_group],  # then its lineage
        }.get(module, [])
        assert given[: len(expected)] == expected and (given == expected or module == "evaluate")
        assert arguments["Environment"]["PYTHONPATH"] == definition.PROCESSING_CODE_DIR
        code_input = next(i for i in arguments["ProcessingInputs"] if i["InputName"] == "code")
        assert code_input["S3Input"]["S3Uri"] == files
        assert code_input["S3Input"]["LocalPath"] == definition.PROCESSING_CODE_DIR
    train = steps["Train"]["Arguments"]
    assert train["AlgorithmSpecification"]["TrainingImage"] == framework_image
    assert train["AlgorithmSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "-m",
        f"{PACKAGE}.train",
    ]
    assert train["Environment"] == {"PYTHONPATH": definition.TRAINING_CODE_DIR}
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]
    }
    assert channels["code"] == files and set(channels) == {"code", "train", "validation"}
    assert set(train["HyperParameters"]) == {"n_estimators", "learning_rate", "max_depth", "seed"}
    assert train["RoleArn"] == ROLE_ARN


def test_every_output_follows_the_s3_layout(built):
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    steps = steps_by_name(built)
    outputs = [
        output["S3Output"]["S3Uri"]["Std:Join"]["Values"]
        for name in ("Preprocess", "Evaluate", "Baseline")
        for output in steps[name]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    ]
    outputs.append(
        steps["Train"]["Arguments"]["OutputDataConfig"]["S3OutputPath"]["Std:Join"]["Values"]
    )
    for values in outputs:
        assert values[:2] == [config.branch_root, {"Get": "Execution.PipelineExecutionId"}]
    assert [values[2:] for values in outputs] == [
        ["preprocess", "train"],
        ["preprocess", "validation"],
        ["preprocess", "test"],
        ["preprocess", settings.DATA_MANIFEST_DIR],
        ["evaluate", "evaluation"],
        ["baseline", "baseline"],
        ["train"],
    ]
    assert config.branch_root == f"s3://{config.names['artifact_bucket']}/{config.use_case}/main"


LINEAGE = [
    "code-digest",
    "git-commit",
    "branch",
    "codebuild-build-id",
    "pipeline-execution",
    "input-data",
    "model-package-group",
    "model-artifact",
]


def lineage_of(command: list) -> list[str]:
    """The names a job's `--lineage NAME=VALUE` arguments give."""
    return [
        command[index + 1]["Std:Join"]["Values"][0]
        for index, part in enumerate(command)
        if part == "--lineage"
    ]


def test_track_logs_what_every_step_wrote_where_the_parameter_says(built, definition):
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    steps = steps_by_name(built)
    for name, registered in (("Track", True), ("TrackUnregistered", False)):
        arguments = steps[name]["Arguments"]
        assert arguments["AppSpecification"]["ContainerEntrypoint"] == [
            "python3",
            "-m",
            f"{PACKAGE}.tracking",
        ]
        sources = {
            item["InputName"]: json.dumps(item["S3Input"]["S3Uri"])
            for item in arguments["ProcessingInputs"]
        }
        assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in sources["model"]
        assert "Outputs['evaluation']" in sources["evaluation"]
        assert "Outputs['baseline']" in sources["baseline"]
        assert f"Outputs['{settings.DATA_MANIFEST_DIR}']" in sources["data"]
        assert "Outputs['test']" in sources["test"]
        environment = arguments["Environment"]
        tracking_uri = {"Get": "Parameters.MlflowTrackingUri"}
        assert environment[settings.TRACKING_URI_VARIABLE] == tracking_uri
        command = arguments["AppSpecification"]["ContainerArguments"]
        assert command[:4] == [
            "--experiment",
            config.names["pipeline_name"],
            "--run-name",
            {"Get": "Execution.PipelineExecutionId"},
        ]
        assert lineage_of(command) == LINEAGE
        # Evaluate's model card names the same.
        assert (
            lineage_of(steps["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"])
            == LINEAGE
        )
        arn = {"Get": "Steps.Register.ModelPackageArn"}
        assert (command[-2:] == ["--model-package-arn", arn]) is registered


def test_the_tracking_default_is_the_mlflow_app_the_ci_names(definition):
    arn = "arn:aws:sagemaker:us-east-1:111111111111:mlflow-app/app-0123456789ab"
    config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main", "MLFLOW_TRACKING_ARN": arn})
    [tracked] = [p for p in pipeline_parameters(config) if p.name == "MlflowTrackingUri"]
    assert tracked.default == arn


def test_job_steps_are_cached_and_retried(built):
    for name in ("Preprocess", "Train", "Evaluate"):
        step = steps_by_name(built)[name]
        assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
        retried = {kind for policy in step["RetryPolicies"] for kind in policy["ExceptionType"]}
        assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR"} <= retried


def test_only_preprocess_and_train_spread_across_instances_each_on_its_share(built):
    steps = steps_by_name(built)
    processing = {
        name: step["Arguments"] for name, step in steps.items() if step["Type"] == "Processing"
    }
    counts = {
        name: arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"]
        for name, arguments in processing.items()
    }
    assert counts.pop("Preprocess") == {"Get": "Parameters.ProcessingInstanceCount"}
    assert set(counts.values()) == {1}
    distribution = {
        (name, item["InputName"]): item["S3Input"]["S3DataDistributionType"]
        for name, arguments in processing.items()
        for item in arguments["ProcessingInputs"]
    }
    assert distribution.pop(("Preprocess", "input")) == "ShardedByS3Key"
    assert set(distribution.values()) == {"FullyReplicated"}
    train = steps["Train"]["Arguments"]
    assert train["ResourceConfig"]["InstanceCount"] == {"Get": "Parameters.TrainingInstanceCount"}
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"].get(
            "S3DataDistributionType", "FullyReplicated"
        )
        for channel in train["InputDataConfig"]
    }
    assert channels == {
        "code": "FullyReplicated",
        "train": "ShardedByS3Key",
        "validation": "FullyReplicated",
    }


def test_with_trials_the_search_space_is_tuned_and_the_best_model_evaluated(definition):
    built = build(definition, environ={settings.TUNING_TRIALS_VARIABLE: "5"})
    steps = steps_by_name(built)
    assert "Train" not in steps and steps["Tune"]["Type"] == "Tuning"
    tuning = steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert tuning["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 5,
        "MaxParallelTrainingJobs": settings.TUNING_PARALLEL_TRIALS,
    }
    assert tuning["HyperParameterTuningJobObjective"] == {
        "Type": "Maximize",
        "MetricName": f"validation:{settings.PRIMARY_METRIC}",
    }
    ranges = tuning["ParameterRanges"]
    searched = {r["Name"] for kind in ranges.values() for r in kind}
    assert searched == set(SEARCH_SPACE)
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    static = job["StaticHyperParameters"]
    assert not set(static) & set(SEARCH_SPACE)
    assert static["sagemaker_program"] == f"{code.PACKAGE}.train"
    assert static["sagemaker_submit_directory"].endswith(f"/{code.ARCHIVE_NAME}")
    [metric] = job["AlgorithmSpecification"]["MetricDefinitions"]
    assert metric["Name"] == f"validation:{settings.PRIMARY_METRIC}"
    evaluated = steps["Evaluate"]["Arguments"]["ProcessingInputs"]
    [model] = [item["S3Input"]["S3Uri"] for item in evaluated if item["InputName"] == "model"]
    best = {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"}
    assert best in model["Std:Join"]["Values"]


def test_trials_that_are_no_whole_number_are_refused_in_one_line():
    with pytest.raises(settings.SettingsError, match="TUNING_TRIALS='few': expected a whole"):
        settings.load({**TEST_ENVIRONMENT, settings.TUNING_TRIALS_VARIABLE: "few"})


def test_a_branch_builds_with_names_and_prefixes_of_its_own(built, definition, no_aws_credentials):
    """main's definition (built once) against a long feature branch's; dev: test_settings.py."""
    long_branch = "feature/" + "a-very-long-branch-name-" * 6
    branch_built = build(definition, long_branch)
    for definition_json, branch in ((built, "main"), (branch_built, long_branch)):
        config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": branch})
        register = steps_by_name(definition_json)["Register"]["Arguments"]
        assert register["ModelPackageGroupName"] == config.names["model_package_group"]
        assert naming.Name(config.names["model_package_group"], naming.SAGEMAKER).problem() is None
        assert f'"{config.branch_root}"' in json.dumps(definition_json)
    main_config = settings.load({**TEST_ENVIRONMENT, "BRANCH_NAME": "main"})
    assert steps_by_name(built)["Register"]["Arguments"]["ModelPackageGroupName"] == (
        main_config.use_case
    )
    assert json.dumps(branch_built) != json.dumps(built)


def test_sagemaker_projects_environment_names_the_pipeline(definition, no_aws_credentials):
    environ = {"SAGEMAKER_PROJECT_NAME": "studio-churn", "SAGEMAKER_PROJECT_ID": "p-0123456789ab"}
    built = build(definition, environ=environ)
    train = steps_by_name(built)["Train"]["Arguments"]
    assert {"Key": "sagemaker:project-id", "Value": "p-0123456789ab"} in train["Tags"]
    group = steps_by_name(built)["Register"]["Arguments"]["ModelPackageGroupName"]
    assert group == "studio-churn-p-0123456789ab"


def test_readme_diagram_matches_the_definition(built):
    readme = README.read_text()
    assert diagram.embed(readme, diagram.mermaid(built)) == readme, "run `make diagram`"


def run_cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.pipeline", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli_environment(tmp_path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != settings.ROLE_ARN_VARIABLE
    }
    return {
        **env,
        "PYTHONPATH": str(PROJECT_ROOT / "src"),
        "BRANCH_NAME": "main",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # Whatever would leave this machine (the SDK's telemetry) meets a closed local port.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def test_a_fresh_process_with_no_aws_configuration_builds_the_same_definition(built, tmp_path):
    """No credentials, region or endpoint: the project's own region is used, and the
    definition is the one built in this process, byte for byte once parsed (deterministic)."""
    output = tmp_path / "pipeline.json"
    command = ["definition", "--role-arn", ROLE_ARN, "--output", str(output)]
    result = run_cli(*command, env=cli_environment(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"pipeline: wrote {output}"
    assert json.loads(output.read_text()) == built
    assert f".{settings.AWS_REGION}.amazonaws.com/" in output.read_text()
