"""Drift monitoring: the baseline of the training data, and the check of captured traffic.

  baseline.py  what the training data and the test predictions looked like (the Baseline step)
  capture.py   read captured traffic: SageMaker data-capture JSON Lines, or a CSV file
  drift.py     compare the traffic with the baseline, one verdict per feature and check
  report.py    write the violations report (JSON) and the human one (HTML with plots)

`python -m` this package runs both steps (see `__main__`), locally and as SageMaker jobs. It
imports only the standard library at start, like `infer`: numpy, pandas and scipy load when
a command needs them, and boto3 only when it reads S3 or publishes metrics.
"""
