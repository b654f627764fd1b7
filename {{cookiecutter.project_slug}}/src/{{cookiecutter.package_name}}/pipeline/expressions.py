"""The definition JSON's expressions, evaluated as SageMaker evaluates them in an execution.

The local executor (issue: one pipeline) runs the definition `upsert` uploads; this module is
its arithmetic. An execution knows its parameter values, its execution variables and, once a
step has finished, that step's properties (what SageMaker's Describe call returns, with
`Outputs` keyed by name) and property files (local JSON files). `resolve` replaces every
expression in a step's arguments:

- `{"Get": "Parameters.<name>"}`, `{"Get": "Execution.<variable>"}` and
  `{"Get": "Steps.<step>.<property path>"}`, a path of attributes, `['key']` and `[n]`;
- `{"Std:Join": {"On": ..., "Values": [...]}}`;
- `{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.<step>.PropertyFiles.<name>"}, "Path": ...}}`.

`holds` evaluates a Condition step's conditions. Nothing is skipped: a reference, function or
condition this module does not know raises ExpressionError, naming the step and the reference.
Standard library only.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

# One step of a property path: an attribute, a ['key'] or a [n].
PATH_PART = re.compile(r"\.?([A-Za-z_]\w*)|\['([^']*)'\]|\[(\d+)\]")
COMPARISONS = {
    "Equals": lambda left, right: left == right,
    "GreaterThan": lambda left, right: left > right,
    "GreaterThanOrEqualTo": lambda left, right: left >= right,
    "LessThan": lambda left, right: left < right,
    "LessThanOrEqualTo": lambda left, right: left <= right,
}
PARAMETER_TYPES = {"String": str, "Integer": int, "Float": float}


class ExpressionError(ValueError):
    """An expression the execution cannot evaluate; the message names the step and reference."""


@dataclass
class Execution:
    """What one execution knows, as its steps finish."""

    parameters: dict[str, object]
    variables: dict[str, str]
    steps: dict[str, dict] = field(default_factory=dict)
    property_files: dict[tuple[str, str], Path] = field(default_factory=dict)


def parameter_values(declared: list[dict], given: dict[str, str]) -> dict[str, object]:
    """The definition's `Parameters`: each default, or the value given, as its declared type."""
    values = {}
    for parameter in declared:
        name, kind = parameter["Name"], parameter["Type"]
        if kind not in PARAMETER_TYPES:
            raise ExpressionError(f"parameter {name}: type {kind!r} is not one the executor knows")
        if name in given:
            try:
                values[name] = PARAMETER_TYPES[kind](given[name])
            except ValueError:
                raise ExpressionError(f"parameter {name}: {given[name]!r} is no {kind}") from None
        elif "DefaultValue" in parameter:
            values[name] = parameter["DefaultValue"]
        else:
            raise ExpressionError(f"parameter {name} has no default; give it a value")
    unknown = sorted(set(given) - set(values))
    if unknown:
        raise ExpressionError(f"{', '.join(unknown)}: not a parameter of the definition")
    return values


def resolve(value, execution: Execution, step: str):
    """`value` (a step's arguments or any part of them) with every expression evaluated."""
    if isinstance(value, list):
        return [resolve(item, execution, step) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(key, argument)] = value.items()
        if key == "Get":
            return lookup(argument, execution, step)
        if key == "Std:Join":
            parts = resolve(argument["Values"], execution, step)
            return argument["On"].join(str(part) for part in parts)
        if key == "Std:JsonGet":
            return json_get(argument, execution, step)
        if key.startswith("Std:"):
            raise ExpressionError(f"step {step}: function {key} is not one the executor knows")
    return {key: resolve(item, execution, step) for key, item in value.items()}


def lookup(reference: str, execution: Execution, step: str):
    """The value of a `Get` reference."""
    root, _, rest = reference.partition(".")
    if root == "Parameters" and rest in execution.parameters:
        return execution.parameters[rest]
    if root == "Execution" and rest in execution.variables:
        return execution.variables[rest]
    if root == "Steps":
        source, _, path = rest.partition(".")
        if source in execution.steps:
            return walk(execution.steps[source], path, reference, step)
        raise ExpressionError(f"step {step}: {reference}: step {source} has not run before it")
    raise ExpressionError(f"step {step}: {reference} is not a parameter or execution variable")


def walk(properties: dict, path: str, reference: str, step: str):
    """Follow a property path (`A.B['key'][0].C`) through a step's properties."""
    node, position = properties, 0
    while position < len(path):
        match = PATH_PART.match(path, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"step {step}: {reference}: cannot read {path[position:]!r}")
        attribute, key, index = match.groups()
        name = attribute if attribute is not None else key
        try:
            node = node[int(index)] if index is not None else node[name]
        except (KeyError, IndexError, TypeError):
            raise ExpressionError(
                f"step {step}: {reference}: nothing at {match.group().lstrip('.')!r}"
            ) from None
        position = match.end()
    return node


def json_get(argument: dict, execution: Execution, step: str):
    """`Std:JsonGet` of a property file: the value at its dotted path."""
    reference = argument.get("PropertyFile", {}).get("Get", "")
    parts = reference.split(".")
    if len(parts) != 4 or parts[0] != "Steps" or parts[2] != "PropertyFiles":
        raise ExpressionError(f"step {step}: Std:JsonGet of {argument!r}: only property files")
    source, name = parts[1], parts[3]
    if (source, name) not in execution.property_files:
        raise ExpressionError(f"step {step}: {reference}: step {source} wrote no such file")
    path = execution.property_files[source, name]
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ExpressionError(f"step {step}: {reference}: {path} is not JSON ({error})") from None
    return walk(document, argument["Path"], f"{reference} {argument['Path']}", step)


def holds(conditions: list[dict], execution: Execution, step: str) -> bool:
    """Whether every condition holds (a Condition step runs its IfSteps then, else ElseSteps)."""
    return all(_holds(condition, execution, step) for condition in conditions)


def _holds(condition: dict, execution: Execution, step: str) -> bool:
    kind = condition["Type"]
    if kind in COMPARISONS:
        left = resolve(condition["LeftValue"], execution, step)
        right = resolve(condition["RightValue"], execution, step)
        return COMPARISONS[kind](left, right)
    if kind == "Not":
        return not _holds(condition["Expression"], execution, step)
    if kind == "Or":
        return any(_holds(inner, execution, step) for inner in condition["Conditions"])
    if kind == "In":
        value = resolve(condition["QueryValue"], execution, step)
        return value in resolve(condition["Values"], execution, step)
    raise ExpressionError(f"step {step}: condition {kind} is not one the executor knows")
