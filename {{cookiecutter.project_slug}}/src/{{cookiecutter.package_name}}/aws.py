"""What the command lines share about AWS: the account check and one-line errors.

Imports botocore only inside `run`, so the package's steps and serving never load it.
"""

import logging
import sys
from collections.abc import Callable

from . import settings


class CommandError(Exception):
    """A problem the user must fix before the command can work; the message says how."""


def check_project(config: settings.Settings) -> None:
    """SageMaker Projects seed code names AWS resources only as its project: never the seed's."""
    if settings.SAGEMAKER_PROJECTS and not config.sagemaker_project_id:
        raise CommandError(
            "this project was created by SageMaker Projects: set SAGEMAKER_PROJECT_NAME and "
            "SAGEMAKER_PROJECT_ID (the project's page in Studio shows both) and DEV_ACCOUNT_ID, "
            "STAGING_ACCOUNT_ID and PROD_ACCOUNT_ID, so that AWS names are the project's"
        )


def check_account(boto_session, config: settings.Settings) -> None:
    """The credentials must be the dev account's: every name and the bucket derive from it."""
    check_project(config)
    account = boto_session.client("sts").get_caller_identity()["Account"]
    if account != config.dev_account_id:
        raise CommandError(
            f"the AWS credentials are for account {account}, but this project's dev account is "
            f"{config.dev_account_id}; use the dev account's credentials (or set DEV_ACCOUNT_ID)"
        )


def newest_approved_package(sagemaker_client, group: str) -> dict | None:
    """The newest Approved model package of `group` (its list_model_packages summary), or None."""
    packages = sagemaker_client.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus=settings.APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    return packages[0] if packages else None


def run(program: str, command: Callable[[], int]) -> int:
    """Run `command`; report a problem as one line `<program>: error: ...` and return 2."""
    import botocore.exceptions

    try:
        # boto3 and the SDK narrate defaults they fill in; real problems are exceptions.
        logging.disable(logging.WARNING)
        return command()
    except (CommandError, settings.SettingsError) as error:
        message = str(error)
    except botocore.exceptions.NoCredentialsError:
        message = (
            "no AWS credentials found; set AWS_PROFILE or run `aws configure` (or `aws sso login`)"
        )
    except botocore.exceptions.NoRegionError:
        message = "no AWS region; set AWS_REGION"
    except botocore.exceptions.EndpointConnectionError as error:
        message = f"cannot reach AWS: {error}"
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        message = (
            f"AWS refused {error.operation_name}: {details.get('Code')}: {details.get('Message')}"
        )
    except botocore.exceptions.BotoCoreError as error:  # profiles, SSO tokens, endpoints
        message = f"AWS configuration: {error}"
    finally:
        logging.disable(logging.NOTSET)
    print(f"{program}: error: {message}", file=sys.stderr)
    return 2
