"""The SageMaker Pipeline: `definition` builds it, `executor` runs it on this machine.

`python -m` this package publishes and starts it on SageMaker (see `__main__`); `local` is
`make run-local`, the same definition executed here.
"""
