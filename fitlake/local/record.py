"""Run records: every executed notebook, with its outputs, as ``.ipynb`` and ``.html``.

One folder per top-level run under ``<env root>/runs/`` (a job's task runs go inside the job's folder); the
notebook the run started from is written as ``<name>.ipynb`` / ``.html``, and each child started with
``dbutils.notebook.run`` as ``<NN>-<child name>.ipynb`` / ``.html`` beside it. The folder's run page
(``fitlake.local.run_page``) has one row per notebook, rewritten as each starts and ends.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbformat import v4

from fitlake.errors import NO_SPACE, storage_full
from fitlake.local.run_page import FAILED, PAGE_FILE, RUNNING, SUCCESS, PageRow, RunPage
from fitlake.local.source import Notebook


def run_stamp() -> str:
    """A run folder's name starts with its UTC start, so that names sort oldest first."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class RunRecord:
    def __init__(self, folder: Path, page: RunPage, redact: Callable[[str], str]):
        self.folder = folder
        self.page = page
        self._redact = redact
        self._children = itertools.count(1)
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[PageRow, float]] = {}  # by file stem: the row, and when it started
        self._own: PageRow | None = None  # the row of the notebook the run started from
        self.files: list[Path] = []
        self._unwritten = False  # a write of the record failed on a full disk (said once)

    @classmethod
    def create(
        cls,
        runs_root: Path,
        notebook_name: str,
        arguments: dict[str, str],
        redact: Callable[[str], str],
        folder: Path | None = None,
    ) -> RunRecord:
        """A new run folder with its page, RUNNING: ``folder`` (inside another run's, whose page it links up to),
        else a stamped one under ``runs_root``. The page shows ``arguments`` through ``redact``."""
        up = f"../{PAGE_FILE}" if folder is not None else None
        folder = folder or runs_root / f"{run_stamp()}-{notebook_name}"
        folder.mkdir(parents=True, exist_ok=False)
        record = cls(folder, RunPage.begin("notebook", notebook_name, arguments, up), redact)
        record.page.write(folder, redact)
        return record

    def file_stem(self, notebook: Notebook, is_child: bool) -> str:
        """The stem of ``notebook``'s files; its row on the page starts RUNNING."""
        with self._lock:
            stem = f"{next(self._children):02d}-{notebook.name}" if is_child else notebook.name
            row = PageRow(stem, href=f"{stem}.html")
            self._rows[stem] = (row, time.monotonic())
            self._own = self._own if is_child else row
            self.page.rows.append(row)
            self._keep(lambda: self.page.write(self.folder, self._redact))
        return stem

    def finish(self, state: str, seconds: float) -> Path:
        """The run ended in ``state``, and so did its own notebook (a timed-out one was stopped by an error raised
        in its cells, so it is recorded as failed): the page says so; returns the page."""
        with self._lock:
            if self._own is not None:
                self._own.state = state
            self.page.finish(state, seconds)
            self._keep(lambda: self.page.write(self.folder, self._redact))
            return self.folder / PAGE_FILE

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
        html_body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        html_path = ipynb.with_suffix(".html")
        self._keep(lambda: (nbformat.write(nb, ipynb), html_path.write_text(html_body, encoding="utf-8")))
        with self._lock:
            self.files += [ipynb, html_path]
            if stem in self._rows:
                row, started = self._rows[stem]
                if row.state == RUNNING:  # not ended already by ``finish`` (a timed-out run that went on a while)
                    row.state = FAILED if failed else SUCCESS
                row.seconds, row.exit_value = time.monotonic() - started, exit_value
                self._keep(lambda: self.page.write(self.folder, self._redact))
        return ipynb

    def _keep(self, write: Callable[[], object]) -> None:
        """Write a part of the record, unless the disk is full: the record shows a run, it is not the run's work,
        and a notebook that did its work must not fail (nor a failed one lose its own error) for want of its
        page. Said once per run on stderr; the page may then lag behind the run."""
        try:
            write()
        except OSError as error:
            if not storage_full(error):
                raise
            if not self._unwritten:
                print(f"Run record: not written in full ({NO_SPACE}): {self.folder}", file=sys.stderr)
            self._unwritten = True


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
                "status": FAILED if failed else SUCCESS,
            },
        }
    )
    return nb
