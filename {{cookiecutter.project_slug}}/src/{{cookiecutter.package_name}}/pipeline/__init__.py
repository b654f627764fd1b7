"""Pipelines that chain the steps: `local` runs them on this machine."""
