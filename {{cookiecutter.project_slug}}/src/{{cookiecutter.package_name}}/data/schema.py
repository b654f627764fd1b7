"""The input data contract: the feature columns (all numeric) and the target column.

Change it here when the use case's data changes; `core.validate` enforces it on every load,
so a renamed or retyped column stops the pipeline with a clear message instead of a bad model.
Missing feature values are allowed (both model frameworks handle them); missing targets are not.

Categorical features are numeric codes (a code stands for a kind, not an amount): the drift
check (`monitor`) compares their frequencies and flags codes training never saw, instead of
comparing them as numbers. Name them in CATEGORICAL_FEATURES, a subset of FEATURES.
"""

TARGET = "target"
{%- if cookiecutter.problem_type == "binary_classification" %}
TARGET_CLASSES = (0, 1)
{%- endif %}

FEATURES = (
{%- if cookiecutter.problem_type == "binary_classification" %}
    "mean_radius",
    "mean_texture",
    "mean_perimeter",
    "mean_area",
    "mean_smoothness",
    "mean_compactness",
    "mean_concavity",
    "mean_concave_points",
    "mean_symmetry",
    "mean_fractal_dimension",
    "radius_error",
    "texture_error",
    "perimeter_error",
    "area_error",
    "smoothness_error",
    "compactness_error",
    "concavity_error",
    "concave_points_error",
    "symmetry_error",
    "fractal_dimension_error",
    "worst_radius",
    "worst_texture",
    "worst_perimeter",
    "worst_area",
    "worst_smoothness",
    "worst_compactness",
    "worst_concavity",
    "worst_concave_points",
    "worst_symmetry",
    "worst_fractal_dimension",
{%- else %}
    "age",
    "sex",
    "bmi",
    "bp",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "s6",
{%- endif %}
)
{%- if cookiecutter.problem_type == "binary_classification" %}

CATEGORICAL_FEATURES: tuple[str, ...] = ()
{%- else %}

CATEGORICAL_FEATURES: tuple[str, ...] = ("sex",)
{%- endif %}


def check_declarations(features: tuple[str, ...], categorical: tuple[str, ...]) -> None:
    """Refuse CATEGORICAL_FEATURES that FEATURES does not declare: a typo would go unnoticed."""
    unknown = [name for name in categorical if name not in features]
    if unknown:
        raise ValueError(
            f"data/schema.py: CATEGORICAL_FEATURES names {', '.join(map(repr, unknown))}, "
            "not in FEATURES; fix the name or add it to FEATURES"
        )


check_declarations(FEATURES, CATEGORICAL_FEATURES)
