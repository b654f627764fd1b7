"""Training hyperparameters, their defaults and their limits.

Standard library only: the pipeline definition reads the defaults without importing the
training libraries.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hyperparameters:
    """What `fit` is configured with; a training job gets these as its hyperparameters."""

    n_estimators: int = 200
    learning_rate: float = 0.05
    max_depth: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_estimators < 1 or self.max_depth < 1:
            raise ValueError("n-estimators and max-depth must be at least 1")
        if not 0 < self.learning_rate <= 1:
            raise ValueError("learning-rate must be above 0 and at most 1")
