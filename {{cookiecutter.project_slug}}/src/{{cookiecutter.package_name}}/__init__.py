"""Data, train, evaluate and infer steps of this ML use case, plus the pipelines that chain them.

Kept free of imports on purpose: serving imports `infer` alone and must start fast.
"""
