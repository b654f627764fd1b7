"""Log each pipeline execution as one MLflow run (`python -m` this package to run)."""
