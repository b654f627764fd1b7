"""Notebooks import the package instead of copying code: check their code still runs with it."""

import json
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize(
    "notebook", sorted(NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda path: path.name
)
def test_notebook_code_runs(notebook, monkeypatch):
    monkeypatch.chdir(NOTEBOOKS_DIR)  # notebooks run from their own folder
    namespace: dict = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(notebook), "exec"), namespace)
