"""Draw a pipeline definition's DAG as a Mermaid flowchart, and keep the README's copy current.

Read from the definition JSON (not the Python objects), so the picture shows what SageMaker
runs: an edge for every `DependsOn` and every reference to another step's properties, and a
condition's branches labelled with its outcome. Standard library only.
"""

import re

BEGIN = "<!-- pipeline-diagram:begin (make diagram) -->"
END = "<!-- pipeline-diagram:end -->"
COMPARISONS = {
    "GreaterThanOrEqualTo": ">=",
    "GreaterThan": ">",
    "LessThanOrEqualTo": "<=",
    "LessThan": "<",
    "Equals": "==",
}
_STEP_REFERENCE = re.compile(r"^Steps\.([A-Za-z0-9-]+)")


def _references(value) -> set[str]:
    """The steps whose properties `value` (any part of a step's JSON) reads."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            if key == "Get" and isinstance(item, str) and (match := _STEP_REFERENCE.match(item)):
                found.add(match.group(1))
            else:
                found |= _references(item)
        return found
    if isinstance(value, list):
        return set().union(*map(_references, value)) if value else set()
    return set()


def _operand(value) -> str:
    if isinstance(value, dict) and "Std:JsonGet" in value:
        return value["Std:JsonGet"]["Path"]
    if isinstance(value, dict) and "Get" in value:
        return value["Get"].removeprefix("Parameters.")
    return str(value)


def _condition_label(step: dict) -> str:
    return " and ".join(
        f"{_operand(c['LeftValue'])} {COMPARISONS.get(c['Type'], c['Type'])} "
        f"{_operand(c['RightValue'])}"
        for c in step["Arguments"]["Conditions"]
    )


def _walk(steps: list[dict]):
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _walk(step["Arguments"].get("IfSteps", []))
            yield from _walk(step["Arguments"].get("ElseSteps", []))


def _reachable(edges: dict[str, set[str]], source: str, target: str, skip: tuple) -> bool:
    """Whether `target` can be reached from `source` without the edge `skip`."""
    pending, seen = [source], set()
    while pending:
        node = pending.pop()
        for successor in edges.get(node, ()):
            if (node, successor) != skip and successor not in seen:
                if successor == target:
                    return True
                seen.add(successor)
                pending.append(successor)
    return False


def mermaid(definition: dict) -> str:
    """The definition's steps as nodes and their dependencies as edges, in a stable order.

    An edge implied by a longer path (Train -> Register, given Train -> Evaluate -> QualityGate
    -> Register) is left out, so the chart shows the order rather than every data reference.
    """
    order, nodes, dependencies, outcomes = {}, [], [], {}
    for step in _walk(definition["Steps"]):
        name = step["Name"]
        order[name] = len(order)
        if step["Type"] == "Condition":
            label, sources = _condition_label(step), _references(step["Arguments"]["Conditions"])
            nodes.append(f"    {name}" + "{" + f'"{name}<br/>{label}"' + "}")
            for outcome, branch in (("true", "IfSteps"), ("false", "ElseSteps")):
                for target in step["Arguments"].get(branch, []):
                    outcomes[(name, target["Name"])] = f" -- {outcome} --> "
        else:
            sources = _references(step.get("Arguments", {}))
            nodes.append(f'    {name}["{name}<br/>{step["Type"]}"]')
        sources |= set(step.get("DependsOn", []))
        dependencies += [(source, name) for source in sources - {name}]
    graph: dict[str, set[str]] = {}
    for source, target in [*dependencies, *outcomes]:
        graph.setdefault(source, set()).add(target)
    arrows = dict(outcomes)
    for edge in dependencies:
        if edge not in arrows and not _reachable(graph, *edge, skip=edge):
            arrows[edge] = " --> "
    edges = [
        f"    {source}{arrow}{target}"
        for (source, target), arrow in sorted(
            arrows.items(), key=lambda item: (order[item[0][0]], order[item[0][1]])
        )
    ]
    return "\n".join(["flowchart TD", *nodes, *edges]) + "\n"


def embed(readme: str, chart: str) -> str:
    """`readme` with the block between BEGIN and END replaced by `chart` in a mermaid fence."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {BEGIN} ... {END} block to put the diagram in")
    block = f"{BEGIN}\n```mermaid\n{chart}```\n"
    return readme[:start] + block + readme[end:]
