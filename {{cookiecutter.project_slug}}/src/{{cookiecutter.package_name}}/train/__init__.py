"""Fit and save the model (`python -m` this package to run the step)."""
