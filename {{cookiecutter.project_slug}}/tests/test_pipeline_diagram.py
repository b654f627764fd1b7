"""The Mermaid diagram reads a definition's steps, dependencies and condition branches."""

import pytest

from {{ cookiecutter.package_name }}.pipeline import diagram

DEFINITION = {
    "Steps": [
        {"Name": "Prepare", "Type": "Processing", "Arguments": {}},
        {
            "Name": "Fit",
            "Type": "Training",
            "Arguments": {"In": {"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['a']"}},
        },
        {"Name": "Audit", "Type": "Processing", "Arguments": {}, "DependsOn": ["Prepare"]},
        {
            "Name": "Gate",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "LessThan",
                        "LeftValue": {
                            "Std:JsonGet": {
                                "PropertyFile": {"Get": "Steps.Fit.PropertyFiles.Report"},
                                "Path": "loss.value",
                            }
                        },
                        "RightValue": {"Get": "Parameters.MaxLoss"},
                    }
                ],
                "IfSteps": [
                    {
                        "Name": "Keep",
                        "Type": "RegisterModel",
                        "Arguments": {
                            "Model": {"Get": "Steps.Fit.ModelArtifacts.S3ModelArtifacts"}
                        },
                    }
                ],
                "ElseSteps": [{"Name": "Stop", "Type": "Fail", "Arguments": {}}],
            },
        },
    ]
}


def test_nodes_edges_and_condition_branches():
    assert diagram.mermaid(DEFINITION).splitlines() == [
        "flowchart TD",
        '    Prepare["Prepare<br/>Processing"]',
        '    Fit["Fit<br/>Training"]',
        '    Audit["Audit<br/>Processing"]',
        '    Gate{"Gate<br/>loss.value < MaxLoss"}',
        '    Keep["Keep<br/>RegisterModel"]',
        '    Stop["Stop<br/>Fail"]',
        "    Prepare --> Fit",
        "    Prepare --> Audit",
        "    Fit --> Gate",
        "    Gate -- true --> Keep",
        "    Gate -- false --> Stop",
    ]


def test_embed_replaces_only_the_marked_block():
    readme = f"intro\n{diagram.BEGIN}\nold\n{diagram.END}\noutro\n"
    updated = diagram.embed(readme, "flowchart TD\n")
    assert (
        updated == f"intro\n{diagram.BEGIN}\n```mermaid\nflowchart TD\n```\n{diagram.END}\noutro\n"
    )
    assert diagram.embed(updated, "flowchart TD\n") == updated


def test_embed_without_markers_says_what_is_missing():
    with pytest.raises(ValueError, match="pipeline-diagram:begin"):
        diagram.embed("no block here\n", "flowchart TD\n")
