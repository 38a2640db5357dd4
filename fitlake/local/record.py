"""Run records: every executed notebook, with its outputs, as ``.ipynb`` and ``.html``.

The local equivalent of a Databricks job run page. One folder per top-level run under
``<env root>/runs/``; the notebook the run started from is written as ``<name>.ipynb`` / ``.html``, and each
child started with ``dbutils.notebook.run`` as ``<NN>-<child name>.ipynb`` / ``.html`` beside it.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbformat import v4

from fitlake.local.source import Notebook


class RunRecord:
    def __init__(self, folder: Path):
        self.folder = folder
        self._children = itertools.count(1)
        self._lock = threading.Lock()
        self.files: list[Path] = []

    @classmethod
    def create(cls, runs_root: Path, notebook_name: str) -> RunRecord:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        folder = runs_root / f"{stamp}-{notebook_name}"
        folder.mkdir(parents=True, exist_ok=False)
        return cls(folder)

    def file_stem(self, notebook: Notebook, is_child: bool) -> str:
        if not is_child:
            return notebook.name
        with self._lock:
            return f"{next(self._children):02d}-{notebook.name}"

    def write(
        self,
        stem: str,
        notebook: Notebook,
        outputs: dict[int, list[Any]],
        *,
        arguments: dict[str, str],
        exit_value: str | None,
        failed: bool,
    ) -> Path:
        """Write the executed notebook; returns the ``.ipynb`` path."""
        nb = to_ipynb(notebook, outputs, arguments=arguments, exit_value=exit_value, failed=failed)
        ipynb = self.folder / f"{stem}.ipynb"
        nbformat.write(nb, ipynb)
        html_body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        html_path = ipynb.with_suffix(".html")
        html_path.write_text(html_body, encoding="utf-8")
        with self._lock:
            self.files += [ipynb, html_path]
        return ipynb


def to_ipynb(
    notebook: Notebook,
    outputs: dict[int, list[Any]],
    *,
    arguments: dict[str, str],
    exit_value: str | None,
    failed: bool,
) -> nbformat.NotebookNode:
    cells = []
    for cell in notebook.cells:
        if cell.kind == "md":
            cells.append(v4.new_markdown_cell(cell.body, metadata={"databricks_cell": cell.number}))
        elif cell.kind != "empty":
            code = v4.new_code_cell(cell.source, metadata={"databricks_cell": cell.number})
            code.outputs = outputs.get(cell.number, [])
            cells.append(code)
    nb = v4.new_notebook(cells=cells)
    nb.metadata.update(
        {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": notebook.language},
            "fitlake": {
                "source": str(notebook.path),
                "arguments": arguments,
                "exit_value": exit_value,
                "status": "FAILED" if failed else "SUCCESS",
            },
        }
    )
    return nb
