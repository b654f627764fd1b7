"""Training hyperparameters, their defaults and their limits, and the space tuning searches.

Standard library only: the pipeline definition reads the defaults without importing the
training libraries.
"""

from dataclasses import dataclass, fields


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


@dataclass(frozen=True)
class Range:
    """Where tuning looks for a hyperparameter's value: from `low` to `high`, on a log scale
    when `log` (for a rate, say, whose tenths matter as much as its units)."""

    low: float
    high: float
    log: bool = False


# What tuning searches (settings.TUNING_TRIALS): these fields, each in its range, whole numbers
# for the int fields; the others keep their defaults. Every value must be one Hyperparameters
# accepts (test_train.py checks both ends).
SEARCH_SPACE = {
    "n_estimators": Range(50, 400),
    "learning_rate": Range(0.01, 0.3, log=True),
    "max_depth": Range(2, 6),
}


def is_integer(name: str) -> bool:
    """Whether a Hyperparameters field takes whole numbers."""
    return next(field.type for field in fields(Hyperparameters) if field.name == name) is int
