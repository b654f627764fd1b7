"""The CI/CD's own commands: stack parameters for bootstrap, and the deploy pipeline's steps.

`python -m` this package runs them (see `__main__`); buildspecs/deploy.yml and test.yml call it.
"""
