"""Pipelines that chain the steps: `local` runs them on this machine, `definition` on SageMaker.

`python -m` this package publishes and starts the SageMaker Pipeline (see `__main__`).
"""
