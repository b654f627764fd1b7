"""The parameters of the bootstrap stacks, every value derived by `settings` and `naming`.

infra/cicd.yml and infra/target-account.yml take each resource name as a parameter, so no
name is typed twice: `python -m <package>.deploy stack-parameters <stack>` prints them for
`aws cloudformation deploy --parameter-overrides` (docs/deployment.md).
"""

from .. import naming, settings

STACKS = ("target-account", "cicd")


def _endpoint_names(names) -> dict[str, str]:
    return {
        "StagingEndpointName": names["staging_endpoint"],
        "ProdEndpointName": names["prod_endpoint"],
        "StagingEndpointStackName": names["staging_endpoint_stack"],
        "ProdEndpointStackName": names["prod_endpoint_stack"],
    }


def _monitoring_names(names) -> dict[str, str]:
    """What both stacks name of monitoring: its stacks and the roles target-account.yml makes."""
    return {
        "StagingMonitoringStackName": names["staging_monitoring_stack"],
        "ProdMonitoringStackName": names["prod_monitoring_stack"],
        "DriftCheckRoleName": names["drift_check_role"],
    }


def _batch_names(names) -> dict[str, str]:
    """What both stacks name of batch scoring: its stacks and its role in the stage accounts."""
    return {
        "StagingBatchStackName": names["staging_batch_stack"],
        "ProdBatchStackName": names["prod_batch_stack"],
        "ScoringRoleName": names["scoring_role"],
    }


def _shared_role_names(names) -> dict[str, str]:
    """Roles that both stacks name: target-account.yml makes them, cicd.yml trusts them."""
    roles = {
        "DeployRoleName": names["deploy_role"],
        "CfnExecutionRoleName": names["cfn_execution_role"],
        "IntegrationTestRoleName": names["integration_test_role"],
        "CodePipelineRoleName": names["codepipeline_role"],
        "AlarmForwardingRoleName": names["alarm_forwarding_role"],
    }
    if settings.DEPLOYS_ENDPOINT:
        roles["ModelExecutionRoleName"] = names["model_execution_role"]
    return roles


def target_account(config: settings.Settings, account: str) -> dict[str, str]:
    """infra/target-account.yml's parameters for `account` (a staging or prod account)."""
    names = config.names
    stages = [stage for stage in naming.STAGES if config.account_of(stage) == account]
    if not stages:
        raise settings.SettingsError(
            f"account {account} is neither the staging ({config.staging_account_id}) nor the "
            f"prod ({config.prod_account_id}) account; pass one of those"
        )
    parameters = {
        "UseCase": config.use_case,
        "DevAccountId": config.dev_account_id,
        "CodeBuildRoleName": names["deploy_build_role"],
        **_shared_role_names(names),
        "EndpointKeyAlias": names["endpoint_key_alias"],
        "CaptureBucketName": config.capture_bucket(stages[0]),
        "ArtifactBucketName": names["artifact_bucket"],
        "PipelineBucketName": names["pipeline_bucket"],
        "DriftMetricsNamespace": names["drift_metrics_namespace"],
    }
    if settings.DEPLOYS_ENDPOINT:
        parameters.update(_endpoint_names(names))
        parameters.update(_monitoring_names(names))
        parameters["DriftScheduleRoleName"] = names["drift_schedule_role"]
    if settings.DEPLOYS_SCORING:
        parameters.update(_batch_names(names))
        for stage in naming.STAGES:
            parameters[f"{stage.title()}ScoringName"] = names[f"{stage}_scoring_pipeline"]
            parameters[f"{stage.title()}AlertTopicName"] = names[f"{stage}_alert_topic"]
        parameters["ScoringStarterRoleName"] = names["scoring_starter_role"]
        parameters["ScoringScheduleRoleName"] = names["scoring_schedule_role"]
    return parameters


def cicd(config: settings.Settings, repository: str) -> dict[str, str]:
    """infra/cicd.yml's parameters; `repository` is <owner>/<name> (CodeCommit: the name)."""
    names = config.names
    dev = naming.derive_names(config.use_case, "dev", config.dev_account_id, config.region)
    parameters = {
        "UseCase": config.use_case,
        "StagingAccountId": config.staging_account_id,
        "ProdAccountId": config.prod_account_id,
        "RepositoryId": repository,
        "CodeBuildImage": settings.CODEBUILD_IMAGE,
        "ArtifactBucketName": names["artifact_bucket"],
        "PipelineBucketName": names["pipeline_bucket"],
        "CicdKeyAlias": names["cicd_key_alias"],
        "ModelPackageGroupName": names["model_package_group"],
        "DevModelPackageGroupName": dev["model_package_group"].value,
        "SageMakerPipelineName": names["pipeline_name"],
        "DevSageMakerPipelineName": dev["pipeline_name"].value,
        "SageMakerExecutionRoleName": names["sagemaker_execution_role"],
        "CiBuildRoleName": names["ci_build_role"],
        "TrainBuildRoleName": names["train_build_role"],
        "DeployBuildRoleName": names["deploy_build_role"],
        "EventsRoleName": names["events_role"],
        "CiProjectName": names["ci_codebuild_project"],
        "TrainProjectName": names["train_codebuild_project"],
        "PrepareProjectName": names["prepare_codebuild_project"],
        "TestProjectName": names["test_codebuild_project"],
        "TrainPipelineName": names["train_codepipeline"],
        "DevTrainPipelineName": dev["train_codepipeline"].value,
        "DeployPipelineName": names["deploy_codepipeline"],
        "ApprovalRuleName": names["approval_rule"],
        **_shared_role_names(names),
        "DriftEventsStatementId": names["drift_events_statement"],
        "RetrainOnDriftRuleName": names["retrain_on_drift_rule"],
        "RetrainScheduleRuleName": names["retrain_schedule_rule"],
        "WorkBranchesPrefix": f"{config.use_case}/{naming.WORK_BRANCHES_SEGMENT}/",
        "MlflowAppName": names["mlflow_app"],
        "MlflowRoleName": names["mlflow_role"],
        "ModelCardFunctionName": names["model_card_function"],
        "ModelCardRoleName": names["model_card_role"],
        "ModelCardRuleName": names["model_card_rule"],
    }
    if settings.DEPLOYS_ENDPOINT:
        parameters["StagingEndpointStackName"] = names["staging_endpoint_stack"]
        parameters["ProdEndpointStackName"] = names["prod_endpoint_stack"]
        parameters.update(_monitoring_names(names))
        parameters["ProdDriftAlarmName"] = names["prod_drift_alarm"]
    if settings.DEPLOYS_SCORING:
        parameters.update(_batch_names(names))
        parameters["ProdScoringDriftAlarmName"] = names["prod_scoring_drift_alarm"]
    if config.sagemaker_project_id:
        parameters["SageMakerProjectName"] = config.sagemaker_project_name
        parameters["SageMakerProjectId"] = config.sagemaker_project_id
    if settings.GIT_PROVIDER == "codecommit":
        parameters["BranchCiProjectName"] = names["branch_ci_codebuild_project"]
    else:
        parameters["ConnectionName"] = names["connection"]
        parameters["CiPipelineName"] = names["ci_codepipeline"]
    return parameters
