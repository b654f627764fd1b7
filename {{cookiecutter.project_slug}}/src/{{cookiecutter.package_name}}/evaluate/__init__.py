"""Score the model on the test set into evaluation.json (`python -m` this package to run)."""
