"""Routine data-science edits keep a generated project's suite green.

One render takes every edit at once (each suite costs a minute or more): another default
hyperparameter, another estimator, and one more feature in the schema and the sample data.
"""

import re

import harness


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found; the edit needs updating"
    path.write_text(text.replace(old, new, 1))


def test_suite_passes_after_routine_edits(render, project_python):
    project = render(problem_type="binary_classification", model_framework="sklearn")
    package = project / "src" / "customer_churn"

    edit(package / "train" / "hyperparameters.py", "n_estimators: int = 200", "n_estimators: int = 300")

    core = package / "train" / "core.py"
    edit(core, "HistGradientBoostingClassifier as Estimator", "RandomForestClassifier as Estimator")
    text = core.read_text()
    built = re.search(r"    return Estimator\(\n.*?\n    \)\n", text, re.DOTALL)
    assert built, f"{core}: the estimator's construction not found; the edit needs updating"
    forest = (
        "    return Estimator(\n"
        "        n_estimators=hyperparameters.n_estimators,\n"
        "        max_depth=hyperparameters.max_depth,\n"
        "        random_state=hyperparameters.seed,\n"
        "    )\n"
    )
    core.write_text(text.replace(built.group(), forest))

    edit(package / "data" / "schema.py", "FEATURES = (\n", 'FEATURES = (\n    "radius_to_texture",\n')
    sample = project / "data" / "sample" / "breast_cancer.csv"
    header, *rows = sample.read_text().splitlines()
    names = header.split(",")
    radius, texture = names.index("mean_radius"), names.index("mean_texture")
    lines = [f"{header},radius_to_texture"]
    for row in rows:
        values = row.split(",")
        lines.append(f"{row},{float(values[radius]) / float(values[texture]):.6g}")
    sample.write_text("\n".join(lines) + "\n")

    result = harness.run_suite(project, project_python())
    assert " passed" in result.stdout and " failed" not in result.stdout
