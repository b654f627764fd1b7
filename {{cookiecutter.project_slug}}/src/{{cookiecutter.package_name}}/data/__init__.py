"""Load, validate and split the input data (`python -m` this package to run the step)."""
