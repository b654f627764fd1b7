"""The monitor's commands, following the SageMaker Processing contract like the other steps.

  baseline  profile the training split and the model's test predictions: baseline.json
            (the pipeline's Baseline step; the local run runs it too)
  check     compare captured traffic, or a scored batch, with a baseline: drift.json and
            drift.html in a new folder; with --metrics-namespace, publish the figures to
            CloudWatch (the scheduled job in infra/monitoring.yml, the scoring pipeline's
            DriftCheck step)

`check` reads a capture file, a folder of them, a CSV file or a folder of them (a batch the
scoring pipeline scored), or an S3 prefix of an endpoint's captures (then --until and --hours
pick the period). Exit status: 0 checked (drift or not),
1 drift found and --fail-on-drift given, 2 a problem to fix first (the message names it).
"""

import argparse
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .. import aws, settings, threads
from ..options import output_folder, positive_number

PROCESSING_DIR = settings.PROCESSING_DIR
PROGRAM = "monitor"


def newest_local_baseline() -> Path:
    """The baseline of the newest local run (`make run-local`) that wrote one."""
    from ..pipeline.local import RUN_BASELINE, newest_run

    return newest_run(settings.RUNS_DIR) / RUN_BASELINE


def new_report_dir() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return settings.MONITORING_DIR / f"{stamp}-{uuid.uuid4().hex[:6]}"


def command_baseline(args) -> int:
    import json
    import tempfile

    from ..data.core import DataValidationError, sampled
    from ..evaluate.models import load_model
    from ..infer.handler import InvalidModelError, predict_array
    from ..train.core import features_and_target
    from .baseline import BASELINE_FILE, build

    threads.limit(PROGRAM)
    try:  # uniform samples of both splits, read a chunk at a time
        (train, train_rows), (test, _) = (
            sampled(folder, settings.SAMPLED_ROWS) for folder in (args.train_dir, args.test_dir)
        )
        with tempfile.TemporaryDirectory() as scratch:
            model = load_model(args.model_dir, Path(scratch))
            predictions = predict_array(model, features_and_target(test)[0])
    except (DataValidationError, FileNotFoundError, InvalidModelError) as error:
        raise aws.CommandError(str(error)) from None
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / BASELINE_FILE
    path.write_text(json.dumps(build(train, predictions, train_rows), indent=2) + "\n")
    print(f"{PROGRAM}: wrote {path}")
    return 0


def window(args) -> tuple[datetime, datetime] | None:
    if args.hours is None:
        return None
    until = args.until or datetime.now(UTC)
    return until - timedelta(hours=args.hours), until


def command_check(args) -> int:
    from . import baseline, capture, drift, metrics, report

    source = ("EndpointName", args.endpoint_name) if args.endpoint_name else None
    source = ("PipelineName", args.pipeline_name) if args.pipeline_name else source
    if args.metrics_namespace and not source:
        raise aws.CommandError(
            "--metrics-namespace needs --endpoint-name or --pipeline-name: what was checked"
        )
    if args.capture.startswith("s3://") and args.hours is None:
        raise aws.CommandError("an s3:// capture needs --hours (and --until) to pick the period")
    threads.limit(PROGRAM)
    period = window(args)
    try:
        if args.output_dir:  # before the traffic is read, which may take minutes
            report.refuse_existing(args.output_dir)
        baseline_path = args.baseline or newest_local_baseline()
        profile = baseline.load(baseline_path)
        s3_client = None
        if args.capture.startswith("s3://"):
            import boto3

            s3_client = boto3.client("s3", region_name=args.region)
        chunks = capture.chunks(args.capture, period, s3_client, workers=threads.count())
        traffic = drift.Tally.of(profile, chunks)
        result = drift.compare(profile, traffic)
        context = {
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "baseline": str(baseline_path),
            "capture": args.capture,
            "period": period and [moment.isoformat() for moment in period],
            "sources": len(traffic.sources),
        }
        output_dir = args.output_dir or new_report_dir()
        json_path, html_path = report.write(output_dir, report.violations(result, context), result)
    except (OSError, baseline.BaselineError, capture.CaptureError) as error:
        raise aws.CommandError(str(error)) from None
    if args.metrics_namespace:
        import boto3

        cloudwatch = boto3.client("cloudwatch", region_name=args.region)
        stamp = period[1] if period else datetime.now(UTC)
        data = metrics.metric_data(result, source, stamp)
        metrics.publish(cloudwatch, args.metrics_namespace, data)
    drifted = result.drifted
    verdict = f"drift in {len(drifted)} check(s)" if drifted else "no drift"
    if not result.rows and not result.requests_unread:  # no drift, but only for lack of data
        verdict = "nothing to compare: no captured rows"
    print(f"{PROGRAM}: {result.rows} rows checked: {verdict} (score {result.score:.2f})")
    for check in drifted:
        print(
            f"{PROGRAM}:   {check.feature or '(all rows)'} {check.check}: "
            f"{check.value:.4f} > {check.threshold:g} ({check.detail})"
        )
    print(f"{PROGRAM}: wrote {json_path} and {html_path}")
    return 1 if drifted and args.fail_on_drift else 0


def iso_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-30T12:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True)

    base = commands.add_parser("baseline", help="write the drift baseline of a trained model")
    base.add_argument("--train-dir", type=Path, default=PROCESSING_DIR / "train")
    base.add_argument("--test-dir", type=Path, default=PROCESSING_DIR / "test")
    base.add_argument("--model-dir", type=Path, default=PROCESSING_DIR / "model")
    base.add_argument("--output-dir", type=output_folder, default=str(PROCESSING_DIR / "baseline"))
    base.set_defaults(run=command_baseline)

    check = commands.add_parser("check", help="check captured traffic for drift")
    check.add_argument(
        "--baseline", type=Path, help="baseline.json (default: the newest local run's)"
    )
    check.add_argument(
        "--capture", required=True, help="capture file or folder, CSV file, or s3:// prefix"
    )
    check.add_argument("--hours", type=positive_number, help="check only this many hours back")
    check.add_argument("--until", type=iso_time, help="end of the period (default: now)")
    check.add_argument(
        "--output-dir",
        type=output_folder,
        help=f"default: a new folder in {settings.MONITORING_DIR}",
    )
    check.add_argument("--fail-on-drift", action="store_true", help="exit 1 when drift is found")
    check.add_argument(
        "--metrics-namespace", help="publish CloudWatch metrics here (empty: publish none)"
    )
    checked = check.add_mutually_exclusive_group()
    checked.add_argument("--endpoint-name", help="the metrics' EndpointName dimension")
    checked.add_argument(
        "--pipeline-name", help="the metrics' PipelineName dimension (a scoring pipeline's)"
    )
    check.add_argument("--region", help="for S3 and CloudWatch (default: the AWS configuration)")
    check.set_defaults(run=command_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    if args.command == "check" and (args.capture.startswith("s3://") or args.metrics_namespace):
        return aws.run(PROGRAM, lambda: args.run(args))  # AWS's errors as one line too
    try:
        return args.run(args)
    except aws.CommandError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
