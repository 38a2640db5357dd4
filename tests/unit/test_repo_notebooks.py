"""Every notebook in the repo is a Databricks source file that would run on Databricks as it is."""

from __future__ import annotations

import re

import pytest
from nbhelpers import repo_notebooks

from fitlake.local.source import parse_notebook_file

NOTEBOOKS = repo_notebooks()
SUPPORTED_ON_BOTH = {"python", "sql", "md", "run", "empty"}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_parses_and_uses_only_portable_cells(path):
    notebook = parse_notebook_file(path)
    assert notebook.cells[0].kind == "md", "cell 1 says what the notebook does"
    assert {cell.kind for cell in notebook.cells} <= SUPPORTED_ON_BOTH


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_never_imports_the_local_runtime(path):
    assert not re.search(r"^\s*(from|import)\s+fitlake\.local", path.read_text(), re.MULTILINE)
