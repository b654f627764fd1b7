"""The input data contract: the feature columns (all numeric) and the target column.

Change it here when the use case's data changes; `core.validate` enforces it on every load,
so a renamed or retyped column stops the pipeline with a clear message instead of a bad model.
Missing feature values are allowed (both model frameworks handle them); missing targets are not.

Categorical features are numeric codes (a code stands for a kind, not an amount): the drift
check (`monitor`) compares their frequencies and flags codes training never saw, instead of
comparing them as numbers. Name them in CATEGORICAL_FEATURES, a subset of FEATURES.

Sensitive features are those a model must not treat groups of people differently by (sex, age,
say): the evaluation reports the model's metrics per group of each (evaluate/bias.py) and the
disparities between groups, against settings.BIAS_THRESHOLDS. Name them in SENSITIVE_FEATURES,
each with how its rows are grouped: a categorical feature by its codes (no bin edges), any
other by bin edges, e.g. `{"age": (40, 60)}` for under 40, 40 to under 60, and 60 or over.
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

# No feature of the sample describes a person: the report says that no bias was assessed.
SENSITIVE_FEATURES: dict[str, tuple[float, ...]] = {}
{%- else %}

CATEGORICAL_FEATURES: tuple[str, ...] = ("sex",)

SENSITIVE_FEATURES: dict[str, tuple[float, ...]] = {"sex": (), "age": (40, 60)}
{%- endif %}


def check_declarations(
    features: tuple[str, ...],
    categorical: tuple[str, ...],
    sensitive: dict[str, tuple[float, ...]],
) -> None:
    """Refuse declarations that do not fit FEATURES: a typo would go unnoticed."""
    declarations = {"CATEGORICAL_FEATURES": categorical, "SENSITIVE_FEATURES": sensitive}
    for declaration, names in declarations.items():
        unknown = [name for name in names if name not in features]
        if unknown:
            raise ValueError(
                f"data/schema.py: {declaration} names {', '.join(map(repr, unknown))}, "
                "not in FEATURES; fix the name or add it to FEATURES"
            )
    for name, edges in sensitive.items():
        if not edges and name not in categorical:
            raise ValueError(
                f"data/schema.py: SENSITIVE_FEATURES gives {name!r} no bin edges, but it is not "
                "categorical; give its edges, e.g. (40, 60), or add it to CATEGORICAL_FEATURES"
            )
        if list(edges) != sorted(set(edges)):
            raise ValueError(
                f"data/schema.py: SENSITIVE_FEATURES gives {name!r} the bin edges {edges}; "
                "give them rising, each once, e.g. (40, 60)"
            )


check_declarations(FEATURES, CATEGORICAL_FEATURES, SENSITIVE_FEATURES)
